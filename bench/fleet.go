package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/bench/benchkit"
)

// daemon is one shepherd process of a benchmark (bench/benchkit).
type daemon = benchkit.Daemon

var startNamed = benchkit.StartNamed

// startFleet starts a workstation daemon (listening nowhere) and n
// daemons listening on loopback with config, all at once. stop ends them
// all, also after an error.
func startFleet(bin, dir string, n int, config string) (ws *daemon, wsPeer string, hosts []*daemon, stop func(), err error) {
	hosts = make([]*daemon, n)
	stop = func() {
		for _, h := range append([]*daemon{ws}, hosts...) {
			if h != nil {
				h.Stop()
			}
		}
	}
	if ws, err = startNamed(bin, filepath.Join(dir, "ws"), "services: []\n"); err != nil {
		return
	}
	out, err := ws.Herd(bin, "id")
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
		ref, err := e.Herd(bin, "cap", "grant", "web", "--actions", "start,stop,status", "--to-peer", wsPeer)
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
	if _, err := ws.Herd(bin, "load", fleetFile); err != nil {
		return err
	}

	// Alternated, so that both see the same machine.
	startStop := func(d *daemon, name string) (time.Duration, error) {
		t0 := time.Now()
		if _, err := d.Herd(bin, "start", name); err != nil {
			return 0, err
		}
		if _, err := d.Herd(bin, "stop", name); err != nil {
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
			if _, err := ws.Herd(bin, "start", fmt.Sprintf("fleet-%d", n)); err != nil {
				return err
			}
			ds = append(ds, time.Since(t0))
			cpuWS, cpuEx = cpuWS+cpuTime(ws)-w0, cpuEx+cpuTime(exporters...)-e0
			// Stopping the members is not measured.
			ws.Herd(bin, "stop", fmt.Sprintf("fleet-%d", n))
			var wg sync.WaitGroup
			for _, name := range names[:n] {
				wg.Go(func() { ws.Herd(bin, "stop", name) })
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
var cpuTime = benchkit.CPUTime
