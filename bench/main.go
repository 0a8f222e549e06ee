// Command bench measures shepherd against baselines taken in the same run
// (the machine is shared and noisy, so only ratios mean anything):
//
//   - starting N `sleep 3600` services vs a bare fork/exec loop of N sleeps,
//     without cgroups (the fallback) and with a cgroup each (section cgroup,
//     as root);
//   - `herd status` round trips with N services vs spawning /bin/true,
//     and `herd status NAME` vs a minimal Go client (bench/minclient)
//     sending the same request;
//   - respawn latency after kill -9, beyond the configured respawn delay;
//   - the daemon's resident memory with N services, right after their
//     start and once it is quiet;
//   - stopping N services vs a bare kill-and-reap loop;
//   - log capture vs cat > file;
//   - a connection to an inetd-style service vs a bare accept and
//     fork/exec loop;
//   - a remote start+stop over libp2p vs a local one, and fleet starts
//     of 1, 10 and 50 exporting daemons on loopback;
//   - the HTTP API: GET /v1/services/NAME vs the socket's status, and
//     the event stream while N services start;
//   - a scrape of /metrics with N services vs a `status` request for
//     them on the socket;
//   - N timer services due in the same second vs a bare fork/exec loop
//     of N `touch`, and the daemon's CPU while they wait;
//   - collecting 30 days of facts of 50 hosts over libp2p, and the seed
//     query over them (bench/factsbench);
//   - `herd fleet diff` of a 1 MB file over 100 shepherds vs `clush -b
//     cat FILE` over 100 SSH sessions, and `herd fleet tail` of 20 hosts
//     writing 10,000 lines a second each, every line accounted for
//     (bench/insightbench).
//
// Run it with `make bench`, or `go run ./bench -bin bin -n 1000 -only log`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/bench/benchkit"
	"github.com/shepherd-go/shepherd/bench/factsbench"
	"github.com/shepherd-go/shepherd/bench/insightbench"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// sections are the parts of the bench, in the order they run; -only
// picks some of them.
var sections = []string{"start", "cgroup", "status", "respawn", "log", "activation", "fleet", "exec", "push", "http", "metrics", "timers", "scale", "diff", "tail", "facts"}

func main() {
	if len(os.Args) == 7 && os.Args[1] == insightbench.WriterArg { // section tail's writer of one host
		rate, _ := strconv.Atoi(os.Args[4])
		size, _ := strconv.Atoi(os.Args[5])
		secs, _ := strconv.Atoi(os.Args[6])
		if err := insightbench.Writer(os.Args[2], os.Args[3], rate, size, time.Duration(secs)*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "bench: tail writer:", err)
			os.Exit(1)
		}
		return
	}
	bin := flag.String("bin", "bin", "directory holding the shepherd and herd binaries")
	n := flag.Int("n", 1000, "number of services")
	rounds := flag.Int("rounds", 30, "repetitions of the latency measurements")
	flag.IntVar(&factsOpts.Hosts, "facts-hosts", 50, "section facts: hosts collected")
	flag.IntVar(&factsOpts.Days, "facts-days", 30, "section facts: days of history per host")
	flag.DurationVar(&factsOpts.Budget, "facts-budget", 0, "section facts: stop collecting after this long and query what was collected (0: no limit, negative: no collection, with -facts-reuse)")
	flag.StringVar(&factsReuse, "facts-reuse", "", "section facts: query the stores a run kept in this directory (BENCH_KEEP=1) instead of making them")
	only := flag.String("only", strings.Join(sections, ","), "comma-separated sections to run: "+strings.Join(sections, ", "))
	flag.Parse()
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if !slices.Contains(sections, s) {
			fmt.Fprintf(os.Stderr, "bench: unknown section %q in -only (known: %s)\n", s, strings.Join(sections, ", "))
			os.Exit(2)
		}
		want[s] = true
	}
	if err := run(*bin, *n, *rounds, want); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// factsOpts are section facts' (bench/factsbench).
var (
	factsOpts  factsbench.Options
	factsReuse string
)

type bench struct {
	bin, dir, sock string
	daemon         *exec.Cmd
	// args are the daemon's extra flags; cgroups says it runs its
	// services in cgroups.
	args    []string
	cgroups bool
}

func run(bin string, n, rounds int, want map[string]bool) error {
	bin, _ = filepath.Abs(bin)
	dir, err := os.MkdirTemp("", "shepherd-bench-")
	if err != nil {
		return err
	}
	defer func() {
		if os.Getenv("BENCH_KEEP") == "" {
			os.RemoveAll(dir)
		}
	}()
	// Without cgroups, the numbers of earlier runs; section cgroup runs
	// a daemon of its own with them.
	b := &bench{bin: bin, dir: dir, sock: filepath.Join(dir, "run", "socket"), args: []string{"--no-cgroup"}}
	if err := b.writeConfig(n); err != nil {
		return err
	}
	fmt.Printf("shepherd benchmarks, %d services, %d rounds (%s)\n\n", n, rounds, time.Now().Format(time.DateTime))

	if want["start"] || want["status"] || want["respawn"] || want["log"] {
		if err := b.startDaemon(); err != nil {
			return err
		}
		defer b.stopDaemon()
	}
	if want["start"] {
		if err := b.startStop(n); err != nil {
			return err
		}
	}
	if want["cgroup"] {
		if err := cgroupBench(bin, filepath.Join(dir, "cgroup"), n); err != nil {
			return err
		}
	}
	if want["status"] {
		statusAll := b.median(rounds, "status")
		trueRun := median(rounds, func() error { return exec.Command("/bin/true").Run() })
		fmt.Printf("%-28s %8.2f ms   (spawning /bin/true: %.2f ms; target < 10 ms)\n", "herd status (summary)", ms(statusAll), ms(trueRun))
		statusOne, minimal, err := b.statusVsMinimal(rounds * 2)
		if err != nil {
			return err
		}
		fmt.Printf("%-28s %8.2f ms   minimal Go client %.2f ms, ratio %.2fx (target <= 1.3x)\n", "herd status svc-0001", ms(statusOne), ms(minimal), float64(statusOne)/float64(minimal))
	}
	if want["respawn"] {
		lat, err := b.respawnLatency(min(rounds, 10))
		if err != nil {
			return err
		}
		fmt.Printf("%-28s %8.2f ms   beyond the 100 ms respawn-delay (target < 5 ms)\n", "respawn after kill -9", ms(lat))
	}
	if want["log"] {
		if err := b.logThroughput(); err != nil {
			return err
		}
	}
	if want["activation"] {
		if err := activationBench(bin, filepath.Join(dir, "activation"), rounds); err != nil {
			return err
		}
	}
	if want["fleet"] {
		if err := fleetBench(bin, filepath.Join(dir, "fleet"), min(rounds, 10)); err != nil {
			return err
		}
	}
	if want["exec"] {
		if err := fleetExecBench(bin, filepath.Join(dir, "exec"), min(rounds, 5)); err != nil {
			return err
		}
	}
	if want["scale"] {
		if err := scaleBench(bin, filepath.Join(dir, "scale"), min(rounds, 3)); err != nil {
			return err
		}
	}
	if want["facts"] {
		factsOpts.Dir, factsOpts.Rounds, factsOpts.Out = filepath.Join(dir, "facts"), min(rounds, 7), os.Stdout
		if factsOpts.Reuse = factsReuse != ""; factsOpts.Reuse {
			factsOpts.Dir = factsReuse
		}
		if err := factsbench.Run(factsOpts); err != nil {
			return fmt.Errorf("facts: %w", err)
		}
	}
	if want["push"] {
		if err := fleetPushBench(bin, filepath.Join(dir, "push"), min(rounds, 5)); err != nil {
			return err
		}
	}
	if want["http"] {
		if err := httpBench(bin, filepath.Join(dir, "http"), n, rounds); err != nil {
			return err
		}
	}
	if want["metrics"] {
		if err := metricsBench(bin, filepath.Join(dir, "metrics"), n, rounds); err != nil {
			return err
		}
	}
	if want["diff"] {
		if err := insightbench.Diff(bin, filepath.Join(dir, "diff"), min(rounds, 5)); err != nil {
			return err
		}
	}
	if want["tail"] {
		// Issue 20's case; then 4 hosts writing 2.5 MB/s each, more
		// than a host read a poll before (it fell behind for ever).
		if err := insightbench.Tail(bin, filepath.Join(dir, "tail"), 20, 10000, 64, 5); err != nil {
			return err
		}
		if err := insightbench.Tail(bin, filepath.Join(dir, "tail-long"), 4, 10000, 256, 5); err != nil {
			return err
		}
	}
	if want["timers"] {
		if err := timersBench(bin, filepath.Join(dir, "timers"), n); err != nil {
			return err
		}
	}
	return nil
}

// startStop starts and stops n services, then starts them again to
// measure the daemon's memory with n services running.
func (b *bench) startStop(n int) error {
	// Start and stop are measured in alternation with the baseline, three
	// times, and compared by their medians: one run of each is at the
	// mercy of whatever else the machine does at that moment.
	herd := filepath.Join(b.bin, "herd")
	var starts, stops, bareStarts, bareStops []time.Duration
	for range 3 {
		bs, bt, err := bareLoop(n)
		if err != nil {
			return err
		}
		bareStarts, bareStops = append(bareStarts, bs), append(bareStops, bt)
		t0 := time.Now()
		if out, err := exec.Command(herd, "-s", b.sock, "start", "all").CombinedOutput(); err != nil {
			return fmt.Errorf("herd start all: %v\n%s", err, out)
		}
		starts = append(starts, time.Since(t0))
		t0 = time.Now()
		if out, err := exec.Command(herd, "-s", b.sock, "stop", "base").CombinedOutput(); err != nil {
			return fmt.Errorf("herd stop base: %v\n%s", err, out)
		}
		stops = append(stops, time.Since(t0))
	}
	if b.cgroups {
		report("start with cgroups", mid(starts), mid(bareStarts), 1.6)
		report("stop with cgroups", mid(stops), mid(bareStops), 0)
		return nil // the memory is measured once, in section start
	}
	report("start services", mid(starts), mid(bareStarts), 1.5)
	report("stop services", mid(stops), mid(bareStops), 0)

	if out, err := exec.Command(herd, "-s", b.sock, "start", "all").CombinedOutput(); err != nil {
		return fmt.Errorf("herd start all: %v\n%s", err, out)
	}
	peak, err := vmRSS(b.daemon.Process.Pid, "VmRSS")
	if err != nil {
		return err
	}
	// The daemon returns what the burst of starts left in its heap once
	// it is quiet again (within two seconds): the target is for a daemon
	// running 1000 services, measured once the start is over.
	time.Sleep(3 * time.Second)
	rss, err := vmRSS(b.daemon.Process.Pid, "VmRSS")
	if err != nil {
		return err
	}
	anon, _ := vmRSS(b.daemon.Process.Pid, "RssAnon")
	file, _ := vmRSS(b.daemon.Process.Pid, "RssFile")
	// Most of the binary is resident (the kernel maps whole large folios
	// of a file in the page cache on a fault), so RSS grows with the
	// binary's size: both parts are printed.
	fmt.Printf("%-28s %8.1f MB   (target < 60 MB) 3 s after the start: %.1f MB the daemon's own memory, %.1f MB its binary and libraries; right after it %.1f MB\n",
		"daemon RSS", float64(rss)/1024, float64(anon)/1024, float64(file)/1024, float64(peak)/1024)
	return nil
}

func report(what string, got, base time.Duration, target float64) {
	t := ""
	if target > 0 {
		t = fmt.Sprintf("; target <= %.1fx", target)
	}
	fmt.Printf("%-28s %8.3f s    bare loop %.3f s, ratio %.2fx%s\n", what, got.Seconds(), base.Seconds(), float64(got)/float64(base), t)
}

var (
	mid = benchkit.Mid
	ms  = benchkit.MS
)

func (b *bench) writeConfig(n int) error {
	var sb strings.Builder
	sb.WriteString("services:\n")
	var names []string
	for i := range n {
		name := fmt.Sprintf("svc-%04d", i)
		names = append(names, name)
		fmt.Fprintf(&sb, "  - name: %s\n    command: [sleep, \"3600\"]\n    requires: [base]\n    auto-start: false\n", name)
	}
	// `start all` starts every service; `stop base` stops them all, since
	// a stop takes the dependents down first.
	sb.WriteString("  - name: base\n    auto-start: false\n")
	fmt.Fprintf(&sb, "  - name: all\n    auto-start: false\n    requires: [%s]\n", strings.Join(names, ", "))
	sb.WriteString("  - name: victim\n    command: [sleep, \"3600\"]\n    respawn-limit: unlimited\n    respawn-delay: 100ms\n")
	fmt.Fprintf(&sb, "  - name: logbench\n    command: [cat, %q]\n    one-shot: true\n    auto-start: false\n", filepath.Join(b.dir, "lines.txt"))
	fmt.Fprintf(&sb, "  - name: logbase\n    command: [sh, -c, %q]\n    one-shot: true\n    auto-start: false\n",
		"cat "+filepath.Join(b.dir, "lines.txt")+" > "+filepath.Join(b.dir, "copy.txt"))
	return os.WriteFile(filepath.Join(b.dir, "services.yaml"), []byte(sb.String()), 0o644)
}

func (b *bench) startDaemon() error {
	pidFile := filepath.Join(b.dir, "pid")
	b.daemon = exec.Command(filepath.Join(b.bin, "shepherd"), append([]string{"-c", filepath.Join(b.dir, "services.yaml"),
		"-s", b.sock, "--state", filepath.Join(b.dir, "state"), "--pid", pidFile, "-l", filepath.Join(b.dir, "shepherd.log")}, b.args...)...)
	b.daemon.Stderr = os.Stderr
	if err := b.daemon.Start(); err != nil {
		return err
	}
	for range 400 {
		if _, err := os.Stat(pidFile); err == nil {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("shepherd did not start within 10 s")
}

func (b *bench) stopDaemon() {
	b.daemon.Process.Signal(syscall.SIGTERM)
	b.daemon.Wait()
}

func (b *bench) median(rounds int, args ...string) time.Duration {
	herd := filepath.Join(b.bin, "herd")
	full := append([]string{"-s", b.sock}, args...)
	return median(rounds, func() error { return exec.Command(herd, full...).Run() })
}

// statusVsMinimal times `herd status svc-0001` against bench/minclient,
// which dials the socket, sends the same request and prints the raw
// reply: what herd costs beyond the least a Go client must do. The two
// alternate, round by round, so that the machine's load falls on both.
func (b *bench) statusVsMinimal(rounds int) (herd, minimal time.Duration, err error) {
	minclient := filepath.Join(b.dir, "minclient")
	build := exec.Command("go", "build", "-o", minclient, "./bench/minclient")
	build.Env = append(os.Environ(), "CGO_ENABLED=0") // as herd is built
	if out, err := build.CombinedOutput(); err != nil {
		return 0, 0, fmt.Errorf("build bench/minclient: %v\n%s", err, out)
	}
	herdBin := filepath.Join(b.bin, "herd")
	var hs, ms []time.Duration
	for range rounds {
		for _, c := range []struct {
			ds   *[]time.Duration
			argv []string
		}{{&hs, []string{herdBin, "-s", b.sock, "status", "svc-0001"}}, {&ms, []string{minclient, b.sock, "svc-0001"}}} {
			t0 := time.Now()
			if err := exec.Command(c.argv[0], c.argv[1:]...).Run(); err != nil {
				return 0, 0, fmt.Errorf("%s: %w", c.argv[0], err)
			}
			*c.ds = append(*c.ds, time.Since(t0))
		}
	}
	slices.Sort(hs)
	slices.Sort(ms)
	return hs[len(hs)/2], ms[len(ms)/2], nil
}

func median(rounds int, f func() error) time.Duration {
	var ds []time.Duration
	for range rounds {
		t0 := time.Now()
		if err := f(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// bareLoop is the baseline: fork/exec n sleeps, then kill and reap them.
func bareLoop(n int) (start, stop time.Duration, err error) {
	path, err := exec.LookPath("sleep")
	if err != nil {
		return 0, 0, err
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, 0, err
	}
	defer devNull.Close()
	pids := make([]int, 0, n)
	t0 := time.Now()
	for range n {
		pid, err := syscall.ForkExec(path, []string{"sleep", "3600"}, &syscall.ProcAttr{
			Files: []uintptr{devNull.Fd(), devNull.Fd(), devNull.Fd()},
			Sys:   &syscall.SysProcAttr{Setsid: true},
		})
		if err != nil {
			return 0, 0, err
		}
		pids = append(pids, pid)
	}
	start = time.Since(t0)
	t0 = time.Now()
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGTERM)
	}
	for _, pid := range pids {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
	}
	return start, time.Since(t0), nil
}

// vmRSS reads a field of /proc/PID/status in kB (VmRSS, RssAnon, ...).
var vmRSS = benchkit.VMRSS

// respawnLatency kills the victim service and measures how long, beyond
// its respawn delay, until a new process runs, polling the socket.
func (b *bench) respawnLatency(rounds int) (time.Duration, error) {
	ctx := context.Background()
	c, err := local.Dial(ctx, b.sock)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	status := func() (wire.Status, error) {
		var s wire.Status
		r, err := c.Call(ctx, wire.Request{Action: "status", Service: "victim", Args: []string{"-n", "0"}})
		if err != nil {
			return s, err
		}
		if !r.OK {
			return s, r.Error
		}
		return s, json.Unmarshal(r.Result, &s)
	}
	var ds []time.Duration
	for range rounds {
		s, err := status()
		if err != nil {
			return 0, err
		}
		if s.PID == 0 {
			return 0, fmt.Errorf("victim is %s", s.State)
		}
		t0 := time.Now()
		syscall.Kill(s.PID, syscall.SIGKILL)
		for {
			n, err := status()
			if err != nil {
				return 0, err
			}
			if n.State == wire.StateRunning && n.PID != s.PID && n.PID != 0 {
				break
			}
			if time.Since(t0) > 10*time.Second {
				return 0, fmt.Errorf("victim not respawned within 10 s")
			}
		}
		ds = append(ds, time.Since(t0)-100*time.Millisecond)
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

// logThroughput captures a fast writer's output through the daemon and
// compares it with `cat > file` of the same bytes, alternating the two
// nine times and comparing medians, like start and stop. The baseline
// runs as a one-shot service of the same daemon, so both sides pay the
// same herd round trip and spawn and differ only in where the bytes go;
// a `cat > file` from the shell is printed alongside.
func (b *bench) logThroughput() error {
	const lines, width, rounds = 1_000_000, 99, 9
	src := filepath.Join(b.dir, "lines.txt")
	f, err := os.Create(src)
	if err != nil {
		return err
	}
	line := strings.Repeat("x", width-8)
	for i := range lines {
		fmt.Fprintf(f, "%07d %s\n", i, line)
	}
	f.Close()
	// Writing back what the machine wrote before is not either side's
	// cost.
	syscall.Sync()
	size := int64(lines * (width + 1))

	herd := func(args ...string) error {
		if out, err := exec.Command(filepath.Join(b.bin, "herd"), append([]string{"-s", b.sock}, args...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("herd %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	// A one-shot service stays started; a stop lets the next start run
	// it again.
	runOnce := func(name string, done func() (bool, error)) (time.Duration, error) {
		t0 := time.Now()
		if err := herd("start", name); err != nil {
			return 0, err
		}
		for {
			ok, err := done()
			if err != nil || ok {
				d := time.Since(t0)
				return d, errors.Join(err, herd("stop", name))
			}
			if time.Since(t0) > 60*time.Second {
				return 0, fmt.Errorf("%s incomplete after 60 s", name)
			}
			time.Sleep(time.Millisecond)
		}
	}

	logFile := filepath.Join(b.dir, "state", "logs", "logbench.log")
	copyFile := filepath.Join(b.dir, "copy.txt")
	perRound := size + int64(lines*len("2006-01-02 15:04:05 "))
	var shells, pipes, bases, gots []time.Duration
	total := 0
	for r := range rounds {
		t0 := time.Now()
		if err := exec.Command("sh", "-c", "cat "+src+" > "+copyFile).Run(); err != nil {
			return err
		}
		shells = append(shells, time.Since(t0))
		os.Remove(copyFile)
		// Any capture reads a pipe: `cat | cat > file` is its ceiling.
		t0 = time.Now()
		if err := exec.Command("sh", "-c", "cat "+src+" | cat > "+copyFile).Run(); err != nil {
			return err
		}
		pipes = append(pipes, time.Since(t0))
		os.Remove(copyFile)

		d, err := runOnce("logbase", func() (bool, error) { return true, nil })
		if err != nil {
			return err
		}
		bases = append(bases, d)
		if st, err := os.Stat(copyFile); err != nil || st.Size() != size {
			return fmt.Errorf("the logbase service did not copy %s: %v", src, err)
		}
		os.Remove(copyFile)

		// Each round writes a new log file, as cat writes a new copy: a
		// file growing round after round would make only this side pay
		// for the kernel's writeback.
		want := perRound
		d, err = runOnce("logbench", func() (bool, error) {
			st, err := os.Stat(logFile)
			return err == nil && st.Size() >= want, nil
		})
		if err != nil {
			return err
		}
		gots = append(gots, d)
		n, err := countLines(logFile)
		if err != nil {
			return err
		}
		if n != lines {
			return fmt.Errorf("log capture lost lines in round %d: %d of %d", r+1, n, lines)
		}
		total += n
		os.Remove(logFile)
	}
	got, base := mid(gots), mid(bases)
	mb := float64(size) / 1e6
	fmt.Printf("%-28s %8.1f MB/s   %.0f lines/s, %d of %d lines\n", "log capture", mb/got.Seconds(), float64(lines)/got.Seconds(), total, rounds*lines)
	fmt.Printf("%-28s %8.1f MB/s   ratio %.2fx (target >= 0.5x); from a shell %.1f MB/s, through a pipe (cat | cat > file) %.1f MB/s = %.2fx\n",
		"  cat > file as a service", mb/base.Seconds(), base.Seconds()/got.Seconds(), mb/mid(shells).Seconds(), mb/mid(pipes).Seconds(), mid(shells).Seconds()/mid(pipes).Seconds())
	return nil
}

func countLines(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strings.Count(string(b), "\n"), nil
}
