package lifecycle

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

// The readiness phase has a golden table of its own
// (testdata/readiness.txt): situations of services with `ready:`,
// `min-uptime` or a watchdog, each probed with every event of the main
// table and the readiness events. Run with -update to rewrite it, then
// review the diff.

func notifyPolicy() services.Policy {
	p := webPolicy()
	p.Requires = nil
	p.Ready = services.ReadyPolicy{Await: true, Notify: true, StartTimeout: 10 * time.Second, Watchdog: 30 * time.Second}
	return p
}

func uptimePolicy() services.Policy {
	p := webPolicy()
	p.Requires = nil
	p.Ready = services.ReadyPolicy{MinUptime: time.Second}
	return p
}

func probeUptimePolicy() services.Policy {
	p := webPolicy()
	p.Requires = nil
	p.Ready = services.ReadyPolicy{Await: true, MinUptime: time.Second, StartTimeout: 10 * time.Second}
	return p
}

var readySituations = []situation{
	{"stopped/notify", notifyPolicy, nil},
	// The process runs; READY=1 is awaited, start-timeout armed.
	{"starting/ready", notifyPolicy, []Event{Start{Waiter: 1, At: at(0)}, Spawned{PID: 100, At: at(1)}}},
	// min-uptime alone: no readiness to wait for, only time.
	{"starting/uptime", uptimePolicy, []Event{Start{Waiter: 1, At: at(0)}, Spawned{PID: 100, At: at(1)}}},
	// A probe succeeded; min-uptime is not over yet.
	{"starting/ready-seen", probeUptimePolicy, []Event{Start{Waiter: 1, At: at(0)}, Spawned{PID: 100, At: at(1)}, Ready{At: at(1.5)}}},
	// A respawn goes through readiness too; a process that dies before
	// it is ready is a crash then, not a failed start.
	{"starting/ready-respawn", notifyPolicy, []Event{
		Start{At: at(0)}, Spawned{PID: 99, At: at(0)}, Ready{At: at(0)},
		Exited{PID: 99, Status: ExitStatus{Code: 1}, At: at(1)},
		TimerFired{Timer: RespawnTimer, Gen: 1, At: at(1.1)}, Spawned{PID: 100, At: at(1.1)},
	}},
	// With a cgroup, what the process leaves (or the process itself, not
	// ready in time) is killed with its cgroup.
	{"starting/ready-cgroup", func() services.Policy { p := notifyPolicy(); p.Cgroup = true; return p }, []Event{Start{Waiter: 1, At: at(0)}, Spawned{PID: 100, At: at(1)}}},
	// Not ready in time: SIGKILL sent, the exit awaited.
	{"starting/killed", notifyPolicy, []Event{
		Start{Waiter: 1, At: at(0)}, Spawned{PID: 100, At: at(0)},
		TimerFired{Timer: StartTimeoutTimer, Gen: 1, At: at(10)},
	}},
	{"starting/pid-file-ready", func() services.Policy {
		p := probeUptimePolicy()
		p.PIDFile, p.PIDFileTimeout = true, 5*time.Second
		return p
	}, []Event{Start{Waiter: 1, At: at(0)}, Spawned{PID: 90, At: at(0)}, PIDFileFound{PID: 100, At: at(1)}}},
	{"running/notify", notifyPolicy, []Event{Start{At: at(0)}, Spawned{PID: 100, At: at(1)}, Ready{At: at(2)}}},
	{"running/reloading", notifyPolicy, []Event{
		Start{At: at(0)}, Spawned{PID: 100, At: at(1)}, Ready{At: at(2)}, StatusText{Text: "reloading", At: at(3)}, Reloading{At: at(3)},
	}},
	{"stopping/from-ready", notifyPolicy, []Event{Start{At: at(0)}, Spawned{PID: 100, At: at(1)}, Stop{Waiter: 2, At: at(2)}}},
	{"failed/not-ready", notifyPolicy, []Event{
		Start{Waiter: 1, At: at(0)}, Spawned{PID: 100, At: at(0)},
		TimerFired{Timer: StartTimeoutTimer, Gen: 1, At: at(10)}, Exited{PID: 100, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(10.1)},
	}},
}

// readyProbes are the readiness events; timers fire with the machine's
// current generation (the timer armed now), or a stale one.
var readyProbes = []struct {
	name string
	ev   func(m *Machine) Event
}{
	{"ready", func(*Machine) Event { return Ready{At: at(10)} }},
	{"probe-failed", func(*Machine) Event { return ProbeFailed{Detail: "connection refused", At: at(10)} }},
	{"status-text", func(*Machine) Event { return StatusText{Text: "Ready to accept connections", At: at(10)} }},
	{"main-pid", func(*Machine) Event { return MainPID{PID: 300, At: at(10)} }},
	{"reloading", func(*Machine) Event { return Reloading{At: at(10)} }},
	{"stopping-notice", func(*Machine) Event { return StoppingNotice{At: at(10)} }},
	{"watchdog-ping", func(*Machine) Event { return WatchdogPing{At: at(10)} }},
	{"watchdog-trigger", func(*Machine) Event { return WatchdogPing{Trigger: true, At: at(10)} }},
	{"extend-timeout", func(*Machine) Event { return ExtendTimeout{By: 20 * time.Second, At: at(10)} }},
	{"start-timeout", func(m *Machine) Event {
		return TimerFired{Timer: StartTimeoutTimer, Gen: m.gens[StartTimeoutTimer], At: at(11)}
	}},
	{"min-uptime", func(m *Machine) Event {
		return TimerFired{Timer: MinUptimeTimer, Gen: m.gens[MinUptimeTimer], At: at(11)}
	}},
	{"watchdog-timer", func(m *Machine) Event {
		return TimerFired{Timer: WatchdogTimer, Gen: m.gens[WatchdogTimer], At: at(40)}
	}},
	{"kill-timer-now", func(m *Machine) Event { return TimerFired{Timer: KillTimer, Gen: m.gens[KillTimer], At: at(15)} }},
	{"stale-ready-timer", func(m *Machine) Event {
		return TimerFired{Timer: StartTimeoutTimer, Gen: m.gens[StartTimeoutTimer] - 1, At: at(11)}
	}},
}

func TestReadinessTable(t *testing.T) {
	var b strings.Builder
	for _, s := range readySituations {
		fmt.Fprintf(&b, "# %s\n", s.name)
		for _, p := range probes {
			m := build(t, s)
			fmt.Fprintf(&b, "%-18s -> %s\n", p.name, stepCatching(m, p.ev))
		}
		for _, p := range readyProbes {
			m := build(t, s)
			fmt.Fprintf(&b, "%-18s -> %s\n", p.name, stepCatching(m, p.ev(m)))
		}
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "readiness.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestReadinessTable -update ./services/)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("readiness table changed; run with -update and review the diff.\ngot:\n%s", got)
	}
}

// TestReadySituations checks that each situation is the state (and
// phase) its name says.
func TestReadySituations(t *testing.T) {
	phases := map[string]phase{"ready": awaitReady, "ready-cgroup": awaitReady, "uptime": awaitReady, "ready-seen": awaitReady, "ready-respawn": awaitReady, "killed": awaitKilled, "pid-file-ready": awaitReady}
	for _, s := range readySituations {
		m := build(t, s)
		state, sub, _ := strings.Cut(s.name, "/")
		if got := m.State().String(); got != state {
			t.Errorf("%s: state %s", s.name, got)
		}
		if p, ok := phases[sub]; ok && state == "starting" && m.phase != p {
			t.Errorf("%s: phase %d, want %d", s.name, m.phase, p)
		}
	}
}

func TestNotifyStartThenWatchdog(t *testing.T) {
	s := script{t, NewMachine(notifyPolicy(), t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7) watch-ready arm(start-timeout,10s)")
	s.step(StatusText{Text: "loading", At: at(0.5)}, "-")
	s.step(ExtendTimeout{By: 5 * time.Second, At: at(1)}, "-") // earlier than the deadline: no change
	s.step(ExtendTimeout{By: 15 * time.Second, At: at(1)}, "arm(start-timeout,15s)")
	s.step(Ready{At: at(2)}, "unwatch-ready starting->running rec(state,running) reply(1,started,web:started) arm(watchdog,30s)")
	if snap := s.m.Snapshot(); snap.StatusText != "loading" {
		t.Fatalf("status text %q", snap.StatusText)
	}
	s.step(WatchdogPing{At: at(20)}, "arm(watchdog,30s)")
	s.step(TimerFired{Timer: WatchdogTimer, Gen: 1, At: at(50)}, "-") // superseded by the ping
	s.step(TimerFired{Timer: WatchdogTimer, Gen: 2, At: at(50)}, "signal(7,SIGKILL)")
	s.step(Exited{PID: 7, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(50)},
		"rec(exit,7,SIGKILL,ran=50s,msg=killed by the watchdog: no WATCHDOG=1 within 30s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(TimerFired{Timer: RespawnTimer, Gen: 1, At: at(51)}, "spawn")
	s.step(Spawned{PID: 8, At: at(51)}, "rec(start,8) watch-ready arm(start-timeout,10s)")
	if snap := s.m.Snapshot(); snap.StatusText != "" || snap.State != Starting {
		t.Fatalf("after the respawn: %+v", snap)
	}
}

func TestMinUptimeFailsAnEarlyExit(t *testing.T) {
	s := script{t, NewMachine(uptimePolicy(), t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7) arm(min-uptime,1s)")
	s.step(Exited{PID: 7, Status: ExitStatus{Code: 0}, At: at(0.03)},
		"rec(exit,7,code=0,ran=30ms) signal(7,SIGKILL) starting->failed rec(state,failed,msg=exited with code 0 after 30ms, before min-uptime 1s) reply(1,failed,reason=exited with code 0 after 30ms, before min-uptime 1s)")
	if snap := s.m.Snapshot(); snap.FailReason != "exited with code 0 after 30ms, before min-uptime 1s" {
		t.Fatalf("fail reason %q", snap.FailReason)
	}
	// The next start makes it.
	s.step(Start{Waiter: 2, At: at(1)}, "failed->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 8, At: at(1)}, "rec(start,8) arm(min-uptime,1s)")
	s.step(TimerFired{Timer: MinUptimeTimer, Gen: 3, At: at(2)}, "starting->running rec(state,running) reply(2,started,web:started)")
}

func TestNotReadyInTimeKillsThenFails(t *testing.T) {
	p := notifyPolicy()
	p.Ready.Watchdog = 0
	s := script{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7) watch-ready arm(start-timeout,10s)")
	s.step(ProbeFailed{Detail: "connection refused", At: at(5)}, "-")
	s.step(TimerFired{Timer: StartTimeoutTimer, Gen: 1, At: at(10)}, "unwatch-ready signal(7,SIGKILL) arm(kill,5s)")
	s.step(Ready{At: at(10.01)}, "-") // too late
	s.step(Exited{PID: 7, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(10.02)},
		"rec(exit,7,SIGKILL,ran=10.02s) signal(7,SIGKILL) starting->failed rec(state,failed,msg=not ready after 10s (last probe: connection refused)) reply(1,failed,reason=not ready after 10s (last probe: connection refused))")
}

func TestDeathBeforeReadyDuringRespawnIsACrash(t *testing.T) {
	p := notifyPolicy()
	p.Ready.Watchdog = 0
	p.RespawnLimit = services.RespawnLimit{Count: 1, Window: time.Minute}
	s := script{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7) watch-ready arm(start-timeout,10s)")
	s.step(Ready{At: at(0.1)}, "unwatch-ready starting->running rec(state,running)")
	s.step(Exited{PID: 7, Status: ExitStatus{Code: 1}, At: at(5)}, "rec(exit,7,code=1,ran=5s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(TimerFired{Timer: RespawnTimer, Gen: 1, At: at(5.1)}, "spawn")
	s.step(Spawned{PID: 8, At: at(5.1)}, "rec(start,8) watch-ready arm(start-timeout,10s)")
	s.step(Start{Waiter: 3, At: at(5.2)}, "-")
	s.step(Exited{PID: 8, Status: ExitStatus{Code: 1}, At: at(5.2)},
		"rec(exit,8,code=1,ran=100ms) signal(8,SIGKILL) unwatch-ready starting->failed rec(state,failed,msg=respawn limit hit: 1 respawn within 1m0s) reply(3,failed,reason=respawn limit hit: 1 respawn within 1m0s) rec(respawn-limit,msg=respawn limit hit: 1 respawn within 1m0s) intent(disabled,respawn-limit)")
}

func TestMainPIDMovesTheMainProcess(t *testing.T) {
	s := script{t, NewMachine(notifyPolicy(), t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7) watch-ready arm(start-timeout,10s)")
	s.step(MainPID{PID: 9, At: at(1)}, "-")
	s.step(Exited{PID: 7, Status: ExitStatus{Code: 0}, At: at(1)}, "-") // the launcher: no longer the main process
	s.step(Ready{At: at(2)}, "unwatch-ready starting->running rec(state,running) reply(1,started,web:started) arm(watchdog,30s)")
	s.step(Stop{Waiter: 2, At: at(3)}, "running->stopping rec(state,stopping) signal(9,SIGTERM) arm(stop,5s)")
}

// TestReadinessRandomWalks drives machines with readiness policies with
// long random sequences of possible events, the readiness events among
// them, and checks after each step what must always hold: no impossible
// transition, a process while ready is awaited or the service runs, none
// once it is stopped or failed, and every waiter answered once the
// machine is at rest.
func TestReadinessRandomWalks(t *testing.T) {
	policies := map[string]func() services.Policy{
		"plain":  webPolicy,
		"notify": notifyPolicy,
		"uptime": uptimePolicy,
		"probe-uptime": func() services.Policy {
			p := probeUptimePolicy()
			p.RespawnLimit = services.RespawnLimit{Count: 2, Window: time.Minute}
			return p
		},
		"pid-file": func() services.Policy {
			p := probeUptimePolicy()
			p.PIDFile, p.PIDFileTimeout = true, 5*time.Second
			return p
		},
	}
	for name, policy := range policies {
		for seed := uint64(1); seed <= 30; seed++ {
			t.Run(fmt.Sprintf("%s/%d", name, seed), func(t *testing.T) {
				w := walker{m: NewMachine(policy(), t0), rnd: rand.New(rand.NewPCG(seed, 16)), now: t0, nextPID: 100}
				waiting := map[Waiter]bool{}
				for i := range 600 {
					var ev Event
					if w.rnd.IntN(3) == 0 {
						ev = w.readyEvent()
					} else {
						ev = w.next()
					}
					before, ph := w.m.state, w.m.phase
					var effs []Effect
					func() {
						defer func() {
							if r := recover(); r != nil {
								t.Fatalf("step %d: %T%+v: %v", i, ev, ev, r)
							}
						}()
						effs = w.m.Step(ev)
					}()
					switch e := ev.(type) {
					case Start:
						waiting[e.Waiter] = e.Waiter != 0
					case Restart:
						waiting[e.Waiter] = e.Waiter != 0
					}
					for _, e := range effs {
						if r, ok := e.(Reply); ok {
							delete(waiting, r.Waiter)
						}
					}
					m := w.m
					switch {
					case (m.state == Stopped || m.state == Failed) && m.pid != 0:
						t.Fatalf("step %d: %v with process %d", i, m.state, m.pid)
					case m.state == Running && m.pid == 0:
						t.Fatalf("step %d: running without a process", i)
					case m.state == Starting && (m.phase == awaitReady || m.phase == awaitKilled) && m.pid == 0:
						t.Fatalf("step %d: readiness phase %d without a process", i, m.phase)
					}
					if (m.state == Stopped || m.state == Failed || m.state == Running) && len(m.startWaiters) > 0 {
						t.Fatalf("step %d: %v(%d) -> %v after %T%+v with start waiters %v", i, before, ph, m.state, ev, ev, m.startWaiters)
					}
				}
			})
		}
	}
}

// readyEvent is a readiness event a runtime could send now, timers
// included (current or stale).
func (w *walker) readyEvent() Event {
	w.now = w.now.Add(time.Duration(w.rnd.IntN(3000)) * time.Millisecond)
	at := w.now
	switch w.rnd.IntN(10) {
	case 0, 1:
		return Ready{At: at}
	case 2:
		return ProbeFailed{Detail: "refused", At: at}
	case 3:
		return StatusText{Text: "x", At: at}
	case 4:
		w.nextPID++
		return MainPID{PID: w.nextPID, At: at}
	case 5:
		return []Event{Reloading{At: at}, StoppingNotice{At: at}}[w.rnd.IntN(2)]
	case 6:
		return WatchdogPing{Trigger: w.rnd.IntN(4) == 0, At: at}
	case 7:
		return ExtendTimeout{By: time.Duration(w.rnd.IntN(20)) * time.Second, At: at}
	default:
		k := []TimerKind{StartTimeoutTimer, MinUptimeTimer, WatchdogTimer, KillTimer}[w.rnd.IntN(4)]
		gen := w.m.gens[k]
		if w.rnd.IntN(5) == 0 {
			gen--
		}
		return TimerFired{Timer: k, Gen: gen, At: at}
	}
}
