package insightbench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/internal/testsshd"
)

// Every host is a real shepherd daemon in a mount namespace of its own
// (unshare, root only), in which its directory's root/ is bound on one
// common path: the same PATH is a different file on each host, as on a
// real fleet.

// startInNS starts a shepherd like startNamed, in a mount namespace in
// which dir/root is bound on mnt.
func startInNS(bin, dir, mnt string) (*daemon, error) {
	if err := os.MkdirAll(filepath.Join(dir, "root"), 0o755); err != nil {
		return nil, err
	}
	return startWith(dir, "services: []\n", func(shepherdArgs []string) *exec.Cmd {
		// unshare execs sh, which execs the shepherd: one PID throughout.
		args := append([]string{"--mount", "--propagation", "private", "sh", "-c", `mount --bind "$0" "$1" && shift && exec "$@"`,
			filepath.Join(dir, "root"), mnt, filepath.Join(bin, "shepherd")}, shepherdArgs...)
		return exec.Command("unshare", append(args, "--listen", "/ip4/127.0.0.1/tcp/0")...)
	})
}

// nsFleet starts a workstation daemon and n hosts in mount namespaces
// (named h001...), each granting the workstation a read capability on
// allow; inv is an inventory of them (address and read: the same ref).
func nsFleet(bin, dir, mnt string, n int, allow string) (ws *daemon, hosts []*daemon, inv string, stop func(), err error) {
	hosts = make([]*daemon, n)
	stop = func() {
		var wg sync.WaitGroup
		for _, h := range append([]*daemon{ws}, hosts...) {
			if h != nil {
				wg.Go(h.Stop)
			}
		}
		wg.Wait()
	}
	if err = os.MkdirAll(mnt, 0o755); err != nil {
		return
	}
	if ws, err = startNamed(bin, filepath.Join(dir, "ws"), "services: []\n"); err != nil {
		return
	}
	out, err := ws.Herd(bin, "id")
	if err != nil {
		return
	}
	wsPeer := strings.TrimSpace(strings.TrimPrefix(strings.Split(out, "\n")[0], "Peer ID:"))
	errs := make([]error, n)
	refs := make([]string, n)
	sem := make(chan struct{}, 16) // 100 daemons at once on 2 cores time out
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if hosts[i], errs[i] = startInNS(bin, filepath.Join(dir, fmt.Sprintf("h%03d", i+1)), mnt); errs[i] != nil {
				return
			}
			var ref string
			ref, errs[i] = hosts[i].Herd(bin, "cap", "grant", "read", "--allow", allow, "--to-peer", wsPeer)
			refs[i] = strings.TrimSpace(ref)
		})
	}
	wg.Wait()
	if err = errors.Join(errs...); err != nil {
		return
	}
	var b strings.Builder
	b.WriteString("hosts:\n")
	for i, r := range refs {
		fmt.Fprintf(&b, "  h%03d:\n    address: %q\n    read: %q\n", i+1, r, r)
	}
	inv = filepath.Join(dir, "inventory.yaml")
	err = os.WriteFile(inv, []byte(b.String()), 0o600)
	return
}

// loadAvg is the 1-minute load average, from /proc/loadavg: the machine
// is shared, and a ratio measured under load says so.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// idleCPU is what ds use doing nothing for d (libp2p's own traffic,
// timers): the part of a run's CPU that is not the run's.
func idleCPU(d time.Duration, ds ...*daemon) time.Duration {
	c0 := cpuTime(ds...)
	time.Sleep(d)
	return cpuTime(ds...) - c0
}

func canNamespace() bool {
	if os.Geteuid() != 0 {
		return false
	}
	_, err := exec.LookPath("unshare")
	return err == nil
}

// bigFile is about size bytes of config-like text; line k of it
// different when k >= 0.
func bigFile(size, k int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		if i == k {
			fmt.Fprintf(&b, "option_%06d = changed on this host\n", i)
			continue
		}
		fmt.Fprintf(&b, "option_%06d = value %d # a setting of the service\n", i, i*7919%100003)
	}
	return b.Bytes()
}

// Diff: herd fleet diff of a 1 MB file on 100 shepherds (two of
// them with one line changed, each a different one) against clush -b
// cat FILE over 100 SSH sessions (5 sshd on loopback), in the same run.
func Diff(bin, dir string, rounds int) error {
	const hosts, size = 100, 1 << 20
	if !canNamespace() {
		fmt.Println("fleet diff: skipped (the hosts need mount namespaces: run as root, with unshare)")
		return nil
	}
	mnt := filepath.Join(dir, "mnt")
	ws, hs, inv, stop, err := nsFleet(bin, dir, mnt, hosts, filepath.Join(mnt, "etc", "**"))
	defer stop()
	if err != nil {
		return err
	}
	same := bigFile(size, -1)
	for i, h := range hs {
		data := same
		switch i + 1 {
		case 37:
			data = bigFile(size, 1000)
		case 74:
			data = bigFile(size, 15000)
		}
		if err := os.MkdirAll(filepath.Join(h.Dir, "root", "etc"), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(h.Dir, "root", "etc", "big.conf"), data, 0o644); err != nil {
			return err
		}
	}
	// What the SSH hosts read: the real mnt/etc/big.conf.
	if err := os.MkdirAll(filepath.Join(mnt, "etc"), 0o755); err != nil {
		return err
	}
	path := filepath.Join(mnt, "etc", "big.conf")
	if err := os.WriteFile(path, same, 0o644); err != nil {
		return err
	}
	var herdCPU time.Duration
	herdDiff := func() error {
		cmd := exec.Command(filepath.Join(bin, "herd"), "-s", ws.Sock, "fleet", "diff", "--inventory", inv, "--fanout", "100", path)
		out, err := cmd.CombinedOutput()
		herdCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		// Exit 1: copies differ, as they should.
		if !bytes.Contains(out, []byte(fmt.Sprintf("\n%d files compared, 2 differ\n", hosts))) ||
			!bytes.Contains(out, []byte("+option_001000 = changed on this host")) || !bytes.Contains(out, []byte("+option_015000 = changed on this host")) {
			return fmt.Errorf("herd fleet diff over %d hosts: %v\n%s", hosts, err, tailOf(out, 3000))
		}
		return nil
	}
	if err := herdDiff(); err != nil { // connections made
		return err
	}
	idle := idleCPU(5*time.Second, hs...)
	w0, h0 := cpuTime(ws), cpuTime(hs...)
	herdCPU = 0
	t0 := time.Now()
	var ours []time.Duration
	for range rounds {
		t0 := time.Now()
		if err := herdDiff(); err != nil {
			return err
		}
		ours = append(ours, time.Since(t0))
	}
	wsCPU, hostsCPU := (cpuTime(ws)-w0)/time.Duration(rounds), (cpuTime(hs...)-h0)/time.Duration(rounds)
	hostsIdle := time.Duration(float64(idle) / 5 * time.Since(t0).Seconds() / float64(rounds))
	load := loadAvg()

	clush, err := clushCat(filepath.Join(dir, "ssh"), path, hosts, rounds)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%-28s %8.1f ms   %d hosts x %d KiB, 2 differ (libp2p read capabilities, fanout 100); CPU a run: herd %.0f ms, workstation daemon %.0f ms, hosts %.0f ms (of which %.0f ms they take idle); load average %s",
		"fleet diff 1 MB, 100 hosts", ms(mid(ours)), hosts, size>>10, ms(herdCPU)/float64(rounds), ms(wsCPU), ms(hostsCPU), ms(hostsIdle), load)
	fmt.Println(line)
	if clush > 0 {
		fmt.Printf("%-28s %8.1f ms   clush -b -f 100 cat over 100 SSH sessions (5 sshd on loopback); herd / clush = %.2fx (target <= 1x); load average %s\n",
			"  clush -b cat, 100 SSH", ms(clush), float64(mid(ours))/float64(clush), loadAvg())
	}
	return nil
}

// clushCat times clush -b -f 100 -w box[001-N] cat path over N SSH
// sessions on 5 sshd servers (median of rounds, after one that makes the
// host keys known); 0 when clush or sshd is missing.
func clushCat(dir, path string, names, rounds int) (time.Duration, error) {
	const sshds = 5
	if _, err := exec.LookPath("clush"); err != nil {
		fmt.Println("  clush: skipped (apt-get install clustershell)")
		return 0, nil
	}
	sshd, err := testsshd.Binary()
	if err != nil {
		fmt.Printf("  clush: skipped: %v\n", err)
		return 0, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	key := filepath.Join(dir, "id_ed25519")
	if err := testsshd.Keygen(key); err != nil {
		return 0, err
	}
	var cfg strings.Builder
	for i := range sshds {
		s, err := testsshd.Start(sshd, filepath.Join(dir, fmt.Sprintf("sshd%d", i)), key+".pub", 0)
		if err != nil {
			return 0, err
		}
		defer s.Stop()
		for j := i; j < names; j += sshds {
			fmt.Fprintf(&cfg, "Host box%03d\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n  UserKnownHostsFile %s/known_hosts\n  StrictHostKeyChecking no\n  LogLevel ERROR\n", j+1, s.Port, key, dir)
		}
	}
	cfgFile := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o600); err != nil {
		return 0, err
	}
	run := func() (time.Duration, error) {
		t0 := time.Now()
		out, err := exec.Command("clush", "-b", "-f", "100", "-w", fmt.Sprintf("box[001-%03d]", names), "-o", "-F "+cfgFile, "cat", path).Output()
		d := time.Since(t0)
		if err != nil || len(out) < 1<<20 || !bytes.Contains(out[:min(len(out), 4096)], []byte(fmt.Sprintf("box[001-%03d] (%d)", names, names))) {
			return 0, fmt.Errorf("clush -b cat %s: %v\n%s", path, err, out[:min(len(out), 2000)])
		}
		return d, nil
	}
	if _, err := run(); err != nil {
		return 0, err
	}
	var ds []time.Duration
	for range rounds {
		d, err := run()
		if err != nil {
			return 0, err
		}
		ds = append(ds, d)
	}
	return mid(ds), nil
}

func tailOf(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Tail: each host's writer appends lines "HOST SEQ padding" at a steady
// rate for a bounded time; herd fleet tail follows them all and the
// bench checks, per host, that every sequence number came, in order.

// WriterArg is the first argument of the bench re-executed as one
// host's writer.
const WriterArg = "tail-writer"

// Writer appends rate lines a second to path for d, in 100 batches a
// second (one write each), each line "HOST SEQ" padded to size bytes;
// it prints the count written.
func Writer(path, host string, rate, size int, d time.Duration) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	const tick = 10 * time.Millisecond
	per := rate * int(tick) / int(time.Second)
	total := rate * int(d/time.Second)
	pad := strings.Repeat("x", size)
	var buf []byte
	start := time.Now()
	seq := 0
	for b := 0; seq < total; b++ {
		// Catch up after a late wake-up: the rate holds on average.
		due := min(total, per*(int(time.Since(start)/tick)+1))
		buf = buf[:0]
		for ; seq < due; seq++ {
			start := len(buf)
			buf = fmt.Appendf(buf, "%s %07d ", host, seq)
			buf = append(buf, pad[:max(0, size-1-(len(buf)-start))]...)
			buf = append(buf, '\n')
		}
		if len(buf) > 0 {
			if _, err := f.Write(buf); err != nil {
				return err
			}
		}
		time.Sleep(time.Until(start.Add(time.Duration(b+1) * tick)))
	}
	fmt.Println(seq)
	return nil
}

// Tail: herd fleet tail of hosts, each with a writer appending rate
// lines of size bytes a second for secs; every line must come, in order.
func Tail(bin, dir string, hosts, rate, size, secs int) error {
	if !canNamespace() {
		fmt.Println("fleet tail: skipped (the hosts need mount namespaces: run as root, with unshare)")
		return nil
	}
	mnt := filepath.Join(dir, "mnt")
	ws, hs, inv, stop, err := nsFleet(bin, dir, mnt, hosts, filepath.Join(mnt, "log", "**"))
	defer stop()
	if err != nil {
		return err
	}
	files := make([]string, hosts)
	for i, h := range hs {
		files[i] = filepath.Join(h.Dir, "root", "log", "app.log")
		if err := os.MkdirAll(filepath.Dir(files[i]), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(files[i], []byte("ready\n"), 0o644); err != nil {
			return err
		}
	}
	cmd := exec.Command(filepath.Join(bin, "herd"), "-s", ws.Sock, "fleet", "tail", "--inventory", inv, "--lines", "1", filepath.Join(mnt, "log", "app.log"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	// Per host: the lines that came, the next sequence number expected,
	// the gaps and lines out of order.
	type count struct{ got, next, bad int }
	var mu sync.Mutex
	counts := map[string]*count{}
	ready := make(chan struct{})
	var last time.Time
	var firstBad string
	go func() {
		r := bufio.NewReaderSize(out, 64<<10)
		nready := 0
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return
			}
			host, rest, ok := bytes.Cut(bytes.TrimSuffix(line, []byte("\n")), []byte(": "))
			if !ok {
				continue
			}
			mu.Lock()
			if string(rest) == "ready" {
				if nready++; nready == hosts {
					close(ready)
				}
				mu.Unlock()
				continue
			}
			f := bytes.Fields(rest)
			c := counts[string(host)]
			if c == nil {
				c = &count{}
				counts[string(host)] = c
			}
			c.got++
			if seq, err := strconv.Atoi(string(f[min(1, len(f)-1)])); err != nil || len(f) < 2 || string(f[0]) != string(host) || seq != c.next {
				c.bad++
				if firstBad == "" {
					firstBad = fmt.Sprintf("%s expected %d, got %q", host, c.next, rest)
				}
				if err == nil {
					c.next = seq + 1
				}
			} else {
				c.next++
			}
			last = time.Now()
			mu.Unlock()
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		return fmt.Errorf("herd fleet tail: not every host's stream opened within 60 s\n%s", tailOf(stderr.Bytes(), 2000))
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	h0, w0 := cpuTime(hs...), cpuTime(ws)
	t0 := time.Now()
	writers := make([]*exec.Cmd, hosts)
	outs := make([]bytes.Buffer, hosts)
	for i := range hosts {
		writers[i] = exec.Command(self, WriterArg, files[i], fmt.Sprintf("h%03d", i+1), strconv.Itoa(rate), strconv.Itoa(size), strconv.Itoa(secs))
		writers[i].Stdout = &outs[i]
		writers[i].Stderr = os.Stderr
		if err := writers[i].Start(); err != nil {
			return err
		}
	}
	written := 0
	for i, w := range writers {
		if err := w.Wait(); err != nil {
			return fmt.Errorf("writer of h%03d: %v", i+1, err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(outs[i].String()))
		written += n
	}
	wrote := time.Since(t0)
	// Every line, or nothing more for 10 s.
	received := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, c := range counts {
			n += c.got
		}
		return n
	}
	for deadline := time.Now().Add(120 * time.Second); received() < written && time.Now().Before(deadline); {
		mu.Lock()
		idle := !last.IsZero() && time.Since(last) > 10*time.Second
		mu.Unlock()
		if idle {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	hostsCPU, wsCPU := cpuTime(hs...)-h0, cpuTime(ws)-w0
	load := loadAvg()
	herdRSS, _ := vmRSS(cmd.Process.Pid, "VmHWM")
	wsRSS, _ := vmRSS(ws.Cmd.Process.Pid, "VmHWM")
	cmd.Process.Signal(syscall.SIGINT)
	cmd.Wait()
	herdCPU := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	mu.Lock()
	defer mu.Unlock()
	got, bad, lost := 0, 0, 0
	for i := range hosts {
		c := counts[fmt.Sprintf("h%03d", i+1)]
		if c == nil {
			c = &count{}
		}
		got, bad = got+c.got, bad+c.bad
		lost += rate*secs - c.next
	}
	all := last.Sub(t0)
	fmt.Printf("%-28s %8.0f lines/s received, written %.0f lines/s (%d hosts x %d lines/s for %d s, %d-byte lines): ratio %.3f; the last line %.0f ms after the writers ended; load average %s\n",
		fmt.Sprintf("fleet tail, %d hosts", hosts), float64(got)/all.Seconds(), float64(written)/wrote.Seconds(), hosts, rate, secs, size, float64(got)/all.Seconds()/(float64(written)/wrote.Seconds()), ms(last.Sub(t0.Add(wrote))), load)
	fmt.Printf("%-28s %8d lost     of %d written, %d received, %d out of order; herd peak RSS %.1f MiB, workstation daemon %.1f MiB; CPU: hosts %.0f ms, workstation daemon %.0f ms, herd %.0f ms\n",
		"  lines lost", lost, written, got, bad, float64(herdRSS)/1024, float64(wsRSS)/1024, ms(hostsCPU), ms(wsCPU), ms(herdCPU))
	if lost != 0 || bad != 0 || got != written {
		return fmt.Errorf("fleet tail lost lines: %d written, %d received, %d missing, %d out of order (first: %s)\nherd's stderr:\n%s", written, got, lost, bad, firstBad, tailOf(stderr.Bytes(), 2000))
	}
	return nil
}
