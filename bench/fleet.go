package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// daemon is one shepherd process of the fleet benchmark.
type daemon struct {
	cmd  *exec.Cmd
	dir  string
	sock string
}

func startNamed(bin, dir, config string, args ...string) (*daemon, error) {
	d := &daemon{dir: dir, sock: filepath.Join(dir, "run", "socket")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, err
	}
	pid := filepath.Join(dir, "pid")
	d.cmd = exec.Command(filepath.Join(bin, "shepherd"), append([]string{"-c", cfg, "-s", d.sock,
		"--state", filepath.Join(dir, "state"), "--pid", pid, "-l", filepath.Join(dir, "log")}, args...)...)
	// Should the bench be killed, its daemons go too.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	for range 800 {
		if _, err := os.Stat(pid); err == nil {
			return d, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return nil, fmt.Errorf("shepherd in %s did not start within 20 s", dir)
}

func (d *daemon) herd(bin string, args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(bin, "herd"), append([]string{"-s", d.sock}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("herd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (d *daemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
}

// startFleet starts a workstation daemon (listening nowhere) and n
// daemons listening on loopback with config, all at once. stop ends them
// all, also after an error.
func startFleet(bin, dir string, n int, config string) (ws *daemon, wsPeer string, hosts []*daemon, stop func(), err error) {
	hosts = make([]*daemon, n)
	stop = func() {
		for _, h := range append([]*daemon{ws}, hosts...) {
			if h != nil {
				h.stop()
			}
		}
	}
	if ws, err = startNamed(bin, filepath.Join(dir, "ws"), "services: []\n"); err != nil {
		return
	}
	out, err := ws.herd(bin, "id")
	if err != nil {
		return
	}
	wsPeer = strings.TrimSpace(strings.TrimPrefix(strings.Split(out, "\n")[0], "Peer ID:"))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			hosts[i], errs[i] = startNamed(bin, filepath.Join(dir, fmt.Sprintf("h%03d", i)), config, "--listen", "/ip4/127.0.0.1/tcp/0")
		})
	}
	wg.Wait()
	return ws, wsPeer, hosts, stop, errors.Join(errs...)
}

// fleetBench measures, on loopback: a remote start+stop round trip against
// the same on the exporter's own socket, then the start of fleets of 1, 10
// and 50 exporters from one workstation daemon (target: 50 within 3x 1).
func fleetBench(bin, dir string, rounds int) error {
	const hosts = 50
	const hostConfig = "services:\n  - name: web\n    command: [sleep, \"3600\"]\n    auto-start: false\n"
	ws, wsPeer, exporters, stop, err := startFleet(bin, dir, hosts, hostConfig)
	defer stop()
	if err != nil {
		return err
	}
	var fleet strings.Builder
	fleet.WriteString("services:\n")
	names := make([]string, hosts)
	for i, e := range exporters {
		ref, err := e.herd(bin, "cap", "grant", "web", "--actions", "start,stop,status", "--to-peer", wsPeer)
		if err != nil {
			return err
		}
		names[i] = fmt.Sprintf("web-%02d", i)
		fmt.Fprintf(&fleet, "  - name: %s\n    remote: %q\n    auto-start: false\n", names[i], strings.TrimSpace(ref))
	}
	for _, n := range []int{1, 10, 50} {
		fmt.Fprintf(&fleet, "  - name: fleet-%d\n    requires: [%s]\n    auto-start: false\n", n, strings.Join(names[:n], ", "))
	}
	fleetFile := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(fleetFile, []byte(fleet.String()), 0o644); err != nil {
		return err
	}
	if _, err := ws.herd(bin, "load", fleetFile); err != nil {
		return err
	}

	// Alternated, so that both see the same machine.
	startStop := func(d *daemon, name string) (time.Duration, error) {
		t0 := time.Now()
		if _, err := d.herd(bin, "start", name); err != nil {
			return 0, err
		}
		if _, err := d.herd(bin, "stop", name); err != nil {
			return 0, err
		}
		return time.Since(t0), nil
	}
	var locals, remotes []time.Duration
	for range 2 * rounds {
		l, err := startStop(exporters[0], "web")
		if err != nil {
			return err
		}
		r, err := startStop(ws, "web-00")
		if err != nil {
			return err
		}
		locals, remotes = append(locals, l), append(remotes, r)
	}
	local, remote := mid(locals), mid(remotes)
	fmt.Printf("%-28s %8.2f ms   local start+stop %.2f ms, ratio %.2fx\n", "remote start+stop (libp2p)", ms(remote), ms(local), float64(remote)/float64(local))

	starts := map[int]time.Duration{}
	var wsCPU, exCPU time.Duration
	for _, n := range []int{1, 10, 50} {
		var ds []time.Duration
		var cpuWS, cpuEx time.Duration
		for range max(rounds/3, 3) {
			w0, e0 := cpuTime(ws), cpuTime(exporters...)
			t0 := time.Now()
			if _, err := ws.herd(bin, "start", fmt.Sprintf("fleet-%d", n)); err != nil {
				return err
			}
			ds = append(ds, time.Since(t0))
			cpuWS, cpuEx = cpuWS+cpuTime(ws)-w0, cpuEx+cpuTime(exporters...)-e0
			// Stopping the members is not measured.
			ws.herd(bin, "stop", fmt.Sprintf("fleet-%d", n))
			var wg sync.WaitGroup
			for _, name := range names[:n] {
				wg.Go(func() { ws.herd(bin, "stop", name) })
			}
			wg.Wait()
		}
		starts[n] = mid(ds)
		wsCPU, exCPU = cpuWS, cpuEx
	}
	fmt.Printf("%-28s %8.2f ms   10 hosts %.2f ms, 50 hosts %.2f ms = %.2fx of one (target <= 3x)\n",
		"fleet start, 1 host", ms(starts[1]), ms(starts[10]), ms(starts[50]), float64(starts[50])/float64(starts[1]))
	// What the 50 hosts' services cost by themselves: 50 fork/execs of
	// sleep from one process, no daemon and no network.
	var bare []time.Duration
	for range 5 {
		d, _, err := bareLoop(hosts)
		if err != nil {
			return err
		}
		bare = append(bare, d)
	}
	fmt.Printf("%-28s %8.2f ms   = %.2fx of one host's fleet start, before any daemon or network work\n",
		"  50 sleeps, bare fork/exec", ms(mid(bare)), float64(mid(bare))/float64(starts[1]))
	perHost := (wsCPU + exCPU) / time.Duration(50*max(rounds/3, 3))
	fmt.Printf("%-28s %8.2f ms   CPU per host, of which the exporters' %.2f ms: all 50 daemons share this machine's %d cores, so 50 hosts cannot take less than %.0f ms here; one after the other they would take %.0f ms\n",
		"  fleet of 50, CPU", ms(perHost), ms(exCPU/time.Duration(50*max(rounds/3, 3))), runtime.NumCPU(), ms(50*perHost/time.Duration(runtime.NumCPU())), ms(50*starts[1]))
	return nil
}

// cpuTime is the user+system time the daemons have used (their services
// excluded).
func cpuTime(ds ...*daemon) time.Duration {
	var total time.Duration
	for _, d := range ds {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		var u, sys int64
		fmt.Sscan(f[11], &u)
		fmt.Sscan(f[12], &sys)
		total += time.Duration(u+sys) * 10 * time.Millisecond // USER_HZ = 100
	}
	return total
}
