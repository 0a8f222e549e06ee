package lifecycle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

func sockPolicy(style services.ActivationStyle, onConn bool, max int) func() services.Policy {
	return func() services.Policy {
		p := webPolicy()
		p.Requires = nil
		p.Activation = services.Activation{Style: style, OnConnection: onConn, MaxConnections: max}
		return p
	}
}

var (
	eagerPolicy = sockPolicy(services.ActivationSystemd, false, 0)
	lazyPolicy  = sockPolicy(services.ActivationSystemd, true, 0)
	inetdPolicy = sockPolicy(services.ActivationInetd, false, 1)
)

// activationSituations are the states of socket-activated services.
var activationSituations = []situation{
	{"stopped/eager", eagerPolicy, nil},
	{"starting/listen", eagerPolicy, []Event{Start{Waiter: 1, At: at(0)}}},
	{"starting/spawn-with-sockets", eagerPolicy, []Event{Start{Waiter: 1, At: at(0)}, Listening{At: at(0)}}},
	{"running/eager", eagerPolicy, []Event{Start{At: at(0)}, Listening{At: at(0)}, Spawned{PID: 100, At: at(1)}}},
	{"starting/respawn-with-sockets", eagerPolicy, []Event{
		Start{At: at(0)}, Listening{At: at(0)}, Spawned{PID: 100, At: at(1)}, Exited{PID: 100, Status: ExitStatus{Code: 1}, At: at(2)},
	}},
	{"stopping/eager", eagerPolicy, []Event{Start{At: at(0)}, Listening{At: at(0)}, Spawned{PID: 100, At: at(1)}, Stop{Waiter: 2, At: at(2)}}},
	{"failed/listen", eagerPolicy, []Event{Start{At: at(0)}, ListenFailed{Reason: "listen tcp 127.0.0.1:80: bind: address already in use", At: at(0)}}},
	{"running/listening", lazyPolicy, []Event{Start{At: at(0)}, Listening{At: at(0)}}},
	{"starting/on-connection", lazyPolicy, []Event{Start{At: at(0)}, Listening{At: at(0)}, ConnectionPending{At: at(1)}}},
	{"running/lazy-process", lazyPolicy, []Event{Start{At: at(0)}, Listening{At: at(0)}, ConnectionPending{At: at(1)}, Spawned{PID: 100, At: at(1)}}},
	{"running/accepting", inetdPolicy, []Event{Start{At: at(0)}, Listening{At: at(0)}}},
	{"running/accepting-full", inetdPolicy, []Event{Start{At: at(0)}, Listening{At: at(0)}, ConnAccepted{ID: 1, At: at(1)}}},
	{"running/refusing", inetdPolicy, []Event{Start{At: at(0)}, Listening{At: at(0)}, ConnAccepted{ID: 1, At: at(1)}, ConnAccepted{ID: 2, At: at(2)}}},
	{"stopping/conns", inetdPolicy, []Event{Start{At: at(0)}, Listening{At: at(0)}, ConnAccepted{ID: 1, At: at(1)}, Stop{Waiter: 2, At: at(2)}}},
	{"stopping/conns-killed", inetdPolicy, []Event{
		Start{At: at(0)}, Listening{At: at(0)}, ConnAccepted{ID: 1, At: at(1)}, Stop{Waiter: 2, At: at(2)}, TimerFired{Timer: StopTimer, Gen: 1, At: at(7)},
	}},
}

var activationProbes = []struct {
	name string
	ev   Event
}{
	{"listening", Listening{At: at(10)}},
	{"listen-failed", ListenFailed{Reason: "listen tcp 127.0.0.1:80: bind: address already in use", At: at(10)}},
	{"connection-pending", ConnectionPending{At: at(10)}},
	{"conn-accepted", ConnAccepted{ID: 7, At: at(10)}},
	{"conn-ended", ConnEnded{At: at(10)}},
}

// fmtActEffects is fmtEffects with the effects of socket activation.
func fmtActEffects(effs []Effect) string {
	var parts []string
	for _, e := range effs {
		switch e := e.(type) {
		case Listen:
			parts = append(parts, "listen")
		case CloseSockets:
			parts = append(parts, "close-sockets")
		case WatchConnection:
			parts = append(parts, "watch-connection")
		case Accept:
			parts = append(parts, fmt.Sprintf("accept(%v)", e.On))
		case ServeConn:
			parts = append(parts, fmt.Sprintf("serve(%d)", e.ID))
		case RefuseConn:
			parts = append(parts, fmt.Sprintf("refuse(%d)", e.ID))
		case SignalConns:
			parts = append(parts, "signal-conns("+services.SignalName(e.Sig)+")")
		case KillCgroup:
			parts = append(parts, fmt.Sprintf("kill-cgroup(%d)", e.Gen))
		case LogRefusals:
			parts = append(parts, fmt.Sprintf("log-refusals(%d,since=%v,active=%d/%d,ended=%v)", e.Count, e.Since.Sub(t0), e.Active, e.Max, e.Ended))
		default:
			parts = append(parts, fmtEffects([]Effect{e}))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func stepCatchingAct(m *Machine, ev Event) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = "PANIC (impossible transition)"
		}
	}()
	effs := m.Step(ev)
	return fmt.Sprintf("%-9v %s", m.State(), fmtActEffects(effs))
}

// TestActivationTable is TestTransitionTable for socket activation: every
// probe (the machine's and activation's) in every socket-activated
// situation, and activation's probes in the machine's own situations.
// Run with -update to rewrite testdata/activation.txt, then review the
// diff.
func TestActivationTable(t *testing.T) {
	var b strings.Builder
	type probe = struct {
		name string
		ev   Event
	}
	all := append(append([]probe{}, probes...), activationProbes...)
	table := func(sits []situation, ps []probe) {
		for _, s := range sits {
			fmt.Fprintf(&b, "# %s\n", s.name)
			for _, p := range ps {
				m := build(t, s)
				fmt.Fprintf(&b, "%-18s -> %s\n", p.name, stepCatchingAct(m, p.ev))
			}
			b.WriteString("\n")
		}
	}
	table(activationSituations, all)
	table(situations, activationProbes)
	// With a cgroup: what processes leave is killed, and waited for.
	var withCgroup []situation
	for _, s := range activationSituations {
		pol := s.policy
		s.name += " (cgroup)"
		s.policy = func() services.Policy { p := pol(); p.Cgroup = true; return p }
		withCgroup = append(withCgroup, s)
	}
	table(withCgroup, append(all[:len(all):len(all)], probe{"cgroup-empty", CgroupEmpty{Gen: 1, At: at(10)}}))
	golden := filepath.Join("testdata", "activation.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestActivationTable -update ./services/)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("activation table changed; run with -update and review the diff.\ngot:\n%s", got)
	}
}

func TestActivationSituations(t *testing.T) {
	for _, s := range activationSituations {
		for _, cg := range []bool{false, true} {
			pol := s.policy
			s.policy = func() services.Policy { p := pol(); p.Cgroup = cg; return p }
			m := build(t, s)
			if want := strings.SplitN(s.name, "/", 2)[0]; m.State().String() != want {
				t.Errorf("%s (cgroup %v): state %s", s.name, cg, m.State())
			}
		}
	}
}

// With a cgroup, a stop of an inetd-style service ends once the cgroup
// is empty: what the connections' processes left goes with them.
func TestInetdStopEmptiesTheCgroup(t *testing.T) {
	p := inetdPolicy()
	p.Cgroup = true
	s := actScript{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(0)}, "starting->running rec(state,running) accept(true)")
	s.step(ConnAccepted{ID: 1, At: at(1)}, "serve(1)")
	s.step(Stop{Waiter: 1, At: at(2)}, "running->stopping rec(state,stopping) accept(false) signal-conns(SIGTERM) arm(stop,5s)")
	s.step(ConnEnded{At: at(3)}, "kill-cgroup(1)")
	s.step(CgroupEmpty{Gen: 1, At: at(3)}, "stopping->stopped rec(state,stopped) reply(1,stopped,web:stopped) close-sockets")
	// Started on connection: a process that exits leaves nothing behind
	// for the next one.
	p = lazyPolicy()
	p.Cgroup = true
	s = actScript{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(0)}, "starting->running rec(state,running) watch-connection")
	s.step(ConnectionPending{At: at(1)}, "running->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(1)}, "rec(start,7) starting->running rec(state,running)")
	s.step(Exited{PID: 7, At: at(2)}, "rec(exit,7,code=0,ran=1s) kill-cgroup(1) watch-connection")
	s.step(ConnectionPending{At: at(2)}, "running->starting rec(state,starting)")
	s.step(CgroupEmpty{Gen: 1, At: at(2)}, "spawn")
}

type actScript struct {
	t *testing.T
	m *Machine
}

func (s actScript) step(ev Event, want string) {
	s.t.Helper()
	if got := fmtActEffects(s.m.Step(ev)); got != want {
		s.t.Fatalf("after %T%+v:\n got: %s\nwant: %s", ev, ev, got, want)
	}
}

// The sockets outlive every process of the service: a crash, a respawn
// and a restart keep them; only a stop closes them.
func TestSocketsOutliveProcesses(t *testing.T) {
	s := actScript{t, NewMachine(eagerPolicy(), t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(0)}, "spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7) starting->running rec(state,running) reply(1,started,web:started)")
	s.step(Exited{PID: 7, Status: ExitStatus{Code: 1}, At: at(1)}, "rec(exit,7,code=1,ran=1s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(TimerFired{Timer: RespawnTimer, Gen: 1, At: at(2)}, "spawn")
	s.step(Spawned{PID: 8, At: at(2)}, "rec(start,8) starting->running rec(state,running)")
	s.step(Restart{Waiter: 2, At: at(3)}, "running->stopping rec(state,stopping) signal(8,SIGTERM) arm(stop,5s)")
	// Stopped on the way to a start: no close-sockets.
	s.step(Exited{PID: 8, Status: ExitStatus{Signal: syscall.SIGTERM}, At: at(4)},
		"rec(exit,8,SIGTERM,ran=2s) signal(8,SIGKILL) stopping->stopped rec(state,stopped) stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(4)}, "spawn")
	s.step(Spawned{PID: 9, At: at(4)}, "rec(start,9) starting->running rec(state,running) reply(2,started,web:stopped,web:started)")
	if !s.m.Snapshot().Activation.Listening {
		t.Fatal("not listening while running")
	}
	s.step(Stop{Waiter: 3, At: at(5)}, "running->stopping rec(state,stopping) signal(9,SIGTERM) arm(stop,5s)")
	s.step(Exited{PID: 9, Status: ExitStatus{Code: 0}, At: at(5)},
		"rec(exit,9,code=0,ran=1s) signal(9,SIGKILL) stopping->stopped rec(state,stopped) reply(3,stopped,web:stopped) close-sockets")
	if s.m.Snapshot().Activation.Listening {
		t.Fatal("listening once stopped")
	}
}

func TestSocketsClosedWhenTheServiceFails(t *testing.T) {
	p := eagerPolicy()
	p.RespawnLimit = services.RespawnLimit{Count: 0, Window: time.Minute}
	s := actScript{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(0)}, "spawn")
	s.step(SpawnFailed{Reason: "exec /x: no such file or directory", At: at(0)},
		"starting->failed rec(state,failed,msg=exec /x: no such file or directory) reply(1,failed,reason=exec /x: no such file or directory) close-sockets")
	s.step(Start{Waiter: 2, At: at(1)}, "failed->starting rec(state,starting) listen")
	s.step(ListenFailed{Reason: "listen tcp 127.0.0.1:80: bind: address already in use", At: at(1)},
		"starting->failed rec(state,failed,msg=listen tcp 127.0.0.1:80: bind: address already in use) reply(2,failed,reason=listen tcp 127.0.0.1:80: bind: address already in use) close-sockets")
	// A stop while binding gives the start up; the late answer is ignored.
	s.step(Start{Waiter: 3, At: at(2)}, "failed->starting rec(state,starting) listen")
	s.step(Stop{Waiter: 4, At: at(2)}, "reply(3,failed,reason=stopped while starting) starting->stopped rec(state,stopped) reply(4,stopped,web:stopped) close-sockets")
	s.step(Listening{At: at(2)}, "-")
}

// A reload that takes listen away applies at the restart: the sockets a
// restart keeps are closed before the process starts without them.
func TestReloadWithoutListen(t *testing.T) {
	s := actScript{t, NewMachine(eagerPolicy(), t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(0)}, "spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7) starting->running rec(state,running)")
	p := eagerPolicy()
	p.Activation = services.Activation{}
	s.m.Replace(p)
	s.step(Restart{At: at(1)}, "running->stopping rec(state,stopping) signal(7,SIGTERM) arm(stop,5s)")
	s.step(Exited{PID: 7, Status: ExitStatus{Signal: syscall.SIGTERM}, At: at(1)},
		"rec(exit,7,SIGTERM,ran=1s) signal(7,SIGKILL) stopping->stopped rec(state,stopped) stopped->starting rec(state,starting) close-sockets spawn")
	if s.m.Snapshot().Activation.Listening {
		t.Fatal("still listening")
	}
}

func TestStartOnConnection(t *testing.T) {
	s := actScript{t, NewMachine(lazyPolicy(), t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) listen")
	// Running, and its dependents may start: the socket takes clients.
	s.step(Listening{At: at(0)}, "starting->running rec(state,running) reply(1,started,web:started) watch-connection")
	if snap := s.m.Snapshot(); !snap.Activation.Waiting || snap.PID != 0 {
		t.Fatalf("%+v", snap)
	}
	s.step(ConnectionPending{At: at(1)}, "running->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(1)}, "rec(start,7) starting->running rec(state,running)")
	// Done with its clients: listening again, no respawn counted.
	s.step(Exited{PID: 7, Status: ExitStatus{Code: 0}, At: at(2)}, "rec(exit,7,code=0,ran=1s) watch-connection")
	s.step(ConnectionPending{At: at(3)}, "running->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 8, At: at(3)}, "rec(start,8) starting->running rec(state,running)")
	// A process that exits at once, again and again (its client left in
	// the backlog) is stopped by the respawn limit.
	q := actScript{t, NewMachine(lazyPolicy(), t0)}
	q.step(Start{At: at(0)}, "stopped->starting rec(state,starting) listen")
	q.step(Listening{At: at(0)}, "starting->running rec(state,running) watch-connection")
	for i := range 5 {
		q.step(ConnectionPending{At: at(1)}, "running->starting rec(state,starting) spawn")
		q.step(Spawned{PID: 20 + i, At: at(1)}, fmt.Sprintf("rec(start,%d) starting->running rec(state,running)", 20+i))
		q.step(Exited{PID: 20 + i, Status: ExitStatus{}, At: at(1)}, fmt.Sprintf("rec(exit,%d,code=0,ran=0s) watch-connection", 20+i))
	}
	q.step(ConnectionPending{At: at(1)}, "running->starting rec(state,starting) spawn")
	q.step(Spawned{PID: 30, At: at(1)}, "rec(start,30) starting->running rec(state,running)")
	q.step(Exited{PID: 30, Status: ExitStatus{}, At: at(1)},
		"rec(exit,30,code=0,ran=0s) running->failed rec(state,failed,msg=respawn limit hit: 5 respawns within 7s) rec(respawn-limit,msg=respawn limit hit: 5 respawns within 7s) intent(disabled,respawn-limit) close-sockets")

	// A crash is one: respawned as any service is.
	s.step(Exited{PID: 8, Status: ExitStatus{Code: 2}, At: at(4)}, "rec(exit,8,code=2,ran=1s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(TimerFired{Timer: RespawnTimer, Gen: 1, At: at(5)}, "spawn")
	s.step(Spawned{PID: 9, At: at(5)}, "rec(start,9) starting->running rec(state,running)")
	s.step(Stop{Waiter: 2, At: at(6)}, "running->stopping rec(state,stopping) signal(9,SIGTERM) arm(stop,5s)")
	s.step(Exited{PID: 9, Status: ExitStatus{Code: 0}, At: at(6)},
		"rec(exit,9,code=0,ran=1s) signal(9,SIGKILL) stopping->stopped rec(state,stopped) reply(2,stopped,web:stopped) close-sockets")
	// Stopped while listening: nothing to signal.
	s.step(Start{Waiter: 3, At: at(7)}, "stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(7)}, "starting->running rec(state,running) reply(3,started,web:started) watch-connection")
	s.step(Stop{Waiter: 4, At: at(8)}, "running->stopping rec(state,stopping) stopping->stopped rec(state,stopped) reply(4,stopped,web:stopped) close-sockets")
}

func TestInetdBoundsConnections(t *testing.T) {
	s := actScript{t, NewMachine(sockPolicy(services.ActivationInetd, false, 2)(), t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(0)}, "starting->running rec(state,running) reply(1,started,web:started) accept(true)")
	s.step(ConnAccepted{ID: 1, At: at(1)}, "serve(1)")
	s.step(ConnAccepted{ID: 2, At: at(1)}, "serve(2)")
	// Beyond the bound: closed at once, reported once per interval.
	s.step(ConnAccepted{ID: 3, At: at(2)}, "refuse(3) log-refusals(1,since=2s,active=2/2,ended=false)")
	s.step(ConnAccepted{ID: 4, At: at(3)}, "refuse(4)")
	s.step(ConnAccepted{ID: 5, At: at(4)}, "refuse(5)")
	s.step(ConnAccepted{ID: 6, At: at(12)}, "refuse(6) log-refusals(3,since=2s,active=2/2,ended=false)")
	s.step(ConnAccepted{ID: 7, At: at(13)}, "refuse(7)")
	// Room again: the end of the burst says what was not reported.
	s.step(ConnEnded{At: at(14)}, "log-refusals(1,since=12s,active=1/2,ended=true)")
	s.step(ConnAccepted{ID: 8, At: at(15)}, "serve(8)")
	if a := s.m.Snapshot().Activation; a.Connections != 2 || a.Served != 3 || a.Refused != 5 {
		t.Fatalf("%+v", a)
	}
	// A stop stops accepting, then the connections' processes.
	s.step(Stop{Waiter: 2, At: at(16)}, "running->stopping rec(state,stopping) accept(false) signal-conns(SIGTERM) arm(stop,5s)")
	s.step(ConnAccepted{ID: 9, At: at(16)}, "refuse(9)")
	s.step(ConnEnded{At: at(17)}, "-")
	s.step(TimerFired{Timer: StopTimer, Gen: 1, At: at(21)}, "signal-conns(SIGKILL) arm(kill,5s)")
	s.step(ConnEnded{At: at(21)}, "stopping->stopped rec(state,stopped) reply(2,stopped,web:stopped) close-sockets")

	// A restart keeps the sockets: connections wait in the backlog.
	s.step(Start{Waiter: 3, At: at(30)}, "stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(30)}, "starting->running rec(state,running) reply(3,started,web:started) accept(true)")
	s.step(ConnAccepted{ID: 10, At: at(31)}, "serve(10)")
	s.step(Restart{Waiter: 4, At: at(32)}, "running->stopping rec(state,stopping) accept(false) signal-conns(SIGTERM) arm(stop,5s)")
	s.step(ConnEnded{At: at(32)}, "stopping->stopped rec(state,stopped) stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(32)}, "starting->running rec(state,running) reply(4,started,web:stopped,web:started) accept(true)")
}

func TestInetdStopGivesUpOnConnections(t *testing.T) {
	s := actScript{t, NewMachine(inetdPolicy(), t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) listen")
	s.step(Listening{At: at(0)}, "starting->running rec(state,running) accept(true)")
	s.step(ConnAccepted{ID: 1, At: at(1)}, "serve(1)")
	s.step(Stop{Waiter: 1, At: at(2)}, "running->stopping rec(state,stopping) accept(false) signal-conns(SIGTERM) arm(stop,5s)")
	s.step(TimerFired{Timer: StopTimer, Gen: 1, At: at(7)}, "signal-conns(SIGKILL) arm(kill,5s)")
	s.step(TimerFired{Timer: KillTimer, Gen: 1, At: at(12)},
		"stopping->stopped rec(state,stopped,msg=connection processes could not be stopped: still there 5s after SIGKILL) reply(1,stopped,web:stopped) close-sockets")
	// The late exit changes nothing.
	s.step(ConnEnded{At: at(13)}, "-")
}

func TestActivationSurvivesSave(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sit     situation
		effects string
	}{
		{"listening", activationSituations[7], "watch-connection"},
		{"accepting", activationSituations[10], "accept(true)"},
		{"eager", activationSituations[3], "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := build(t, tc.sit)
			saved, err := m.Save([NumTimers]time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			r, effects := Restore(m.Policy(), saved, at(20))
			if got := fmtActEffects(effects); got != tc.effects {
				t.Fatalf("effects %s, want %s", got, tc.effects)
			}
			if r.Snapshot().Activation != m.Snapshot().Activation || r.phase != m.phase {
				t.Fatalf("restored %+v/%d, saved %+v/%d", r.Snapshot().Activation, r.phase, m.Snapshot().Activation, m.phase)
			}
			// And it goes on: stopped, it closes its sockets.
			effs := fmtActEffects(r.Step(Stop{Waiter: 1, At: at(21)}))
			if tc.name != "eager" && !strings.HasSuffix(effs, "close-sockets") {
				t.Fatalf("stop after restore: %s", effs)
			}
		})
	}
}
