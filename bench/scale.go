package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/internal/fleetsim"
	"github.com/shepherd-go/shepherd/internal/fleetsim/launch"
	"github.com/shepherd-go/shepherd/internal/testsshd"
)

// scaleBench (make bench-scale, issue 22) runs `herd fleet exec -- true`
// over 10, 100, 500 and 1000 simulated exporters (one fleetsim process),
// directly and through 3 relay shepherds (a fleetsim process each), each
// from a fresh operator's shepherd: the cold run (connections made) and
// the warm one (median of rounds), the operator's memory, sockets, CPU
// and bytes, and the CPU of the exporters and relays; then clush over
// SSH to 100 sessions for scale.
func scaleBench(bin, dir string, rounds int) error {
	const most = 1000
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	sim, hosts, err := launch.Sim(ctx, bin, filepath.Join(dir, "sim"), "-n", strconv.Itoa(most))
	if err != nil {
		return err
	}
	defer sim.Stop()
	simRSS := fleetsim.RSS(sim.PID())
	fmt.Printf("%-28s %8.1f MiB  for %d exporters: %.0f KiB each (libp2p host, caretaker, listener)\n", "fleetsim memory", float64(simRSS)/(1<<20), most, float64(simRSS)/most/1024)
	fmt.Printf("%-6s %-6s %9s %9s %9s %8s %9s %11s %12s %12s %12s\n", "hosts", "path", "cold ms", "warm ms", "op MiB", "op socks", "op bytes", "op CPU ms", "hosts CPU ms", "relays CPU ms", "herd CPU ms")
	for _, n := range []int{10, 100, 500, most} {
		for _, via := range []bool{false, true} {
			if err := scaleRow(ctx, bin, filepath.Join(dir, fmt.Sprintf("run-%d-%v", n, via)), sim, hosts[:n], via, rounds); err != nil {
				return err
			}
		}
	}
	return clushScale(filepath.Join(dir, "ssh"))
}

func scaleRow(ctx context.Context, bin, dir string, sim *launch.Proc, hosts []fleetsim.Entry, via bool, rounds int) error {
	var relays []fleetsim.Entry
	var relayProcs []*launch.Proc
	defer func() {
		for _, p := range relayProcs {
			p.Stop()
		}
	}()
	if via {
		for i := range 3 {
			p, es, err := launch.Sim(ctx, bin, filepath.Join(dir, fmt.Sprintf("relay%d", i+1)), "-n", "0", "-relays", "1", "-relay-prefix", fmt.Sprintf("relay%d-", i+1))
			if err != nil {
				return err
			}
			relays, relayProcs = append(relays, es...), append(relayProcs, p)
		}
	}
	op, err := launch.StartShepherd(ctx, bin, filepath.Join(dir, "operator"))
	if err != nil {
		return err
	}
	defer op.Stop()
	inv := filepath.Join(dir, "inventory.yaml")
	if err := os.WriteFile(inv, []byte(fleetsim.Inventory(hosts, relays, via)), 0o600); err != nil {
		return err
	}
	var herdCPU time.Duration // herd's own, over the warm runs
	run := func() (time.Duration, error) {
		t0 := time.Now()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "herd"), "-s", op.Socket, "fleet", "exec", "--inventory", inv, "-g", "sim", "--group", "--", "true")
		b, err := cmd.CombinedOutput()
		out := string(b)
		if err != nil || !strings.Contains(out, fmt.Sprintf("(%d)\n", len(hosts))) {
			return 0, fmt.Errorf("fleet exec over %d hosts (via relays %v): %v\n%s", len(hosts), via, err, out)
		}
		herdCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return time.Since(t0), nil
	}
	cold, err := run()
	if err != nil {
		return err
	}
	cpu := func() (opT, hostsT, relaysT int64) {
		for _, p := range relayProcs {
			relaysT += fleetsim.CPU(p.PID())
		}
		return fleetsim.CPU(op.PID()), fleetsim.CPU(sim.PID()), relaysT
	}
	herdCPU = 0
	o0, h0, r0 := cpu()
	b0 := ioBytes(op.PID())
	var ds []time.Duration
	for range rounds {
		d, err := run()
		if err != nil {
			return err
		}
		ds = append(ds, d)
	}
	o1, h1, r1 := cpu()
	b1 := ioBytes(op.PID())
	path := "direct"
	if via {
		path = "relays"
	}
	per := func(ticks int64) float64 { return float64(ticks) * 10 / float64(rounds) } // ms a run
	fmt.Printf("%-6d %-6s %9.1f %9.1f %9.1f %8d %9d %11.0f %12.0f %12.0f %12.0f\n", len(hosts), path, ms(cold), ms(mid(ds)),
		float64(fleetsim.RSS(op.PID()))/(1<<20), fleetsim.Sockets(op.PID()), (b1-b0)/int64(rounds), per(o1-o0), per(h1-h0), per(r1-r0), ms(herdCPU)/float64(rounds))
	return nil
}

// ioBytes is what a process read and wrote (sockets included), from
// /proc/PID/io; 0 if that cannot be read (another user's process).
func ioBytes(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "io"))
	if err != nil {
		return 0
	}
	var total int64
	for l := range strings.SplitSeq(string(b), "\n") {
		for _, k := range []string{"rchar: ", "wchar: "} {
			if v, ok := strings.CutPrefix(l, k); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				total += n
			}
		}
	}
	return total
}

// clushScale times clush -- true over 100 SSH sessions (5 sshd servers
// on loopback), the scale at which one process per session shows.
func clushScale(dir string) error {
	const sshds, names = 5, 100
	if _, err := exec.LookPath("clush"); err != nil {
		fmt.Println("clush over SSH: skipped (apt-get install clustershell)")
		return nil
	}
	sshd, err := testsshd.Binary()
	if err != nil {
		fmt.Printf("clush over SSH: skipped: %v\n", err)
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	key := filepath.Join(dir, "id_ed25519")
	if err := testsshd.Keygen(key); err != nil {
		return err
	}
	var cfg strings.Builder
	for i := range sshds {
		s, err := testsshd.Start(sshd, filepath.Join(dir, fmt.Sprintf("sshd%d", i)), key+".pub", 0)
		if err != nil {
			return err
		}
		defer s.Stop()
		for j := i; j < names; j += sshds {
			fmt.Fprintf(&cfg, "Host box%03d\n  HostName 127.0.0.1\n  Port %d\n  User root\n  IdentityFile %s\n  UserKnownHostsFile %s/known_hosts\n  StrictHostKeyChecking no\n  LogLevel ERROR\n", j+1, s.Port, key, dir)
		}
	}
	cfgFile := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(cfgFile, []byte(cfg.String()), 0o600); err != nil {
		return err
	}
	clush := func() (time.Duration, error) {
		t0 := time.Now()
		out, err := exec.Command("clush", "-f", "100", "-w", fmt.Sprintf("box[001-%03d]", names), "-o", "-F "+cfgFile, "true").CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("clush: %v\n%s", err, out)
		}
		return time.Since(t0), nil
	}
	if _, err := clush(); err != nil { // host keys known
		return err
	}
	d, err := clush()
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %8.1f ms   (%d sessions over %d sshd on loopback; one ssh process each)\n", "clush true, 100 SSH", ms(d), names, sshds)
	return nil
}
