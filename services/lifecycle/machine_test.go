package lifecycle

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

func webPolicy() services.Policy {
	return services.Policy{
		Name: "web", Requires: []string{"net"}, HasProcess: true, Respawn: true,
		RespawnLimit: services.DefaultRespawnLimit, RespawnDelay: 100 * time.Millisecond,
		RespawnMaxDelay: 30 * time.Second, StopSignal: syscall.SIGTERM, StopTimeout: 5 * time.Second,
		KillWait: services.KillWait,
	}
}

// fmtEffects renders effects compactly for comparisons and golden files.
func fmtEffects(effs []Effect) string {
	var parts []string
	for _, e := range effs {
		switch e := e.(type) {
		case StartPeers:
			parts = append(parts, "start-peers("+strings.Join(e.Names, ",")+")")
		case StopPeers:
			parts = append(parts, "stop-peers("+strings.Join(e.Names, ",")+")")
		case Spawn:
			parts = append(parts, "spawn")
		case Signal:
			parts = append(parts, fmt.Sprintf("signal(%d,%s)", e.PGID, services.SignalName(e.Sig)))
		case ArmTimer:
			parts = append(parts, fmt.Sprintf("arm(%s,%v)", timerName(e.Timer), e.After))
		case Reply:
			r := e.Result
			s := fmt.Sprintf("reply(%d,%v", e.Waiter, r.Outcome)
			if r.Dependency != "" {
				s += ",dep=" + r.Dependency
			}
			if r.Refused {
				s += ",refused"
			}
			if r.Outcome == OutFailed && r.Reason != "" && r.Dependency == "" && !r.Refused {
				s += ",reason=" + r.Reason
			}
			for _, st := range r.Steps {
				s += fmt.Sprintf(",%s:%v", st.Service, st.Outcome)
			}
			parts = append(parts, s+")")
		case Transition:
			parts = append(parts, fmt.Sprintf("%v->%v", e.From, e.To))
		case WatchPIDFile:
			parts = append(parts, "watch-pid-file")
		case Disown:
			parts = append(parts, fmt.Sprintf("disown(%d)", e.PID))
		case KillCgroup:
			parts = append(parts, "kill-cgroup")
		case WatchReady:
			parts = append(parts, "watch-ready")
		case UnwatchReady:
			parts = append(parts, "unwatch-ready")
		case Record:
			parts = append(parts, fmtRecord(e))
		case KeepIntent:
			if e.Enabled {
				parts = append(parts, "intent(enabled)")
			} else {
				parts = append(parts, "intent(disabled,"+strings.ReplaceAll(e.Disabled.Cause.String(), " ", "-")+")")
			}
		default:
			parts = append(parts, fmt.Sprintf("%T", e))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// fmtRecord renders a Record without its time, which the golden table
// leaves to TestRecordsAreWhatTheControllerDerived.
func fmtRecord(r Record) string {
	s := "rec(" + r.Kind.String()
	if r.State != "" {
		s += "," + r.State
	}
	if r.PID != 0 {
		s += fmt.Sprintf(",%d", r.PID)
	}
	if r.ExitCode != nil {
		s += fmt.Sprintf(",code=%d", *r.ExitCode)
	}
	if r.Signal != "" {
		s += "," + r.Signal
	}
	if r.Kind == RecordExit {
		s += fmt.Sprintf(",ran=%v", r.Runtime)
	}
	if r.Message != "" {
		s += ",msg=" + r.Message
	}
	return s + ")"
}

func timerName(k TimerKind) string {
	return [...]string{"stop", "respawn", "cooldown", "pid-file", "kill", "start-timeout", "min-uptime", "watchdog"}[k]
}

// situation builds a machine in one state and phase by feeding it events.
type situation struct {
	name   string
	policy func() services.Policy
	setup  []Event
}

var situations = []situation{
	{"stopped", webPolicy, nil},
	{"stopped-disabled", webPolicy, []Event{Disable{At: at(0)}}},
	{"starting/requires", webPolicy, []Event{Start{Waiter: 1, At: at(0)}}},
	{"starting/spawn", webPolicy, []Event{Start{Waiter: 1, At: at(0)}, PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)}}},
	{"starting/respawn", webPolicy, []Event{
		Start{At: at(0)}, PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)},
		Spawned{PID: 100, At: at(1)}, Exited{PID: 100, Status: ExitStatus{Code: 1}, At: at(2)},
	}},
	{"starting/one-shot", func() services.Policy { p := webPolicy(); p.OneShot, p.Respawn = true, false; return p }, []Event{
		Start{Waiter: 1, At: at(0)}, PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)},
		Spawned{PID: 100, At: at(1)},
	}},
	{"running", webPolicy, []Event{
		SetDependents{Names: []string{"app"}},
		Start{At: at(0)}, PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)},
		Spawned{PID: 100, At: at(1)},
	}},
	// Running without respawn: a crash leaves it stopped.
	{"running-disabled", webPolicy, []Event{
		Start{At: at(0)}, PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)},
		Spawned{PID: 100, At: at(1)}, Disable{At: at(1)},
	}},
	// Running after as many respawns as the limit allows: the next crash
	// hits the limit.
	{"running-at-limit", func() services.Policy {
		p := webPolicy()
		p.Requires = nil
		p.RespawnLimit = services.RespawnLimit{Count: 1, Window: time.Minute}
		return p
	}, []Event{
		Start{At: at(0)}, Spawned{PID: 99, At: at(0)}, Exited{PID: 99, Status: ExitStatus{Code: 1}, At: at(0)},
		TimerFired{Timer: RespawnTimer, Gen: 1, At: at(1)}, Spawned{PID: 100, At: at(1)},
	}},
	{"stopping/dependents", webPolicy, []Event{
		SetDependents{Names: []string{"app"}},
		Start{At: at(0)}, PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)},
		Spawned{PID: 100, At: at(1)}, Stop{Waiter: 2, At: at(2)},
	}},
	{"stopping/exit", webPolicy, []Event{
		Start{At: at(0)}, PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)},
		Spawned{PID: 100, At: at(1)}, Stop{Waiter: 2, At: at(2)},
	}},
	// SIGKILL sent, the kill timer runs.
	{"stopping/killed", webPolicy, []Event{
		Start{At: at(0)}, PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)},
		Spawned{PID: 100, At: at(1)}, Stop{Waiter: 2, At: at(2)}, TimerFired{Timer: StopTimer, Gen: 1, At: at(7)},
	}},
	// The launcher runs; the PID file is awaited.
	{"starting/pid-file", func() services.Policy { p := webPolicy(); p.PIDFile, p.PIDFileTimeout = true, 5*time.Second; return p }, []Event{
		Start{Waiter: 1, At: at(0)}, PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)},
		Spawned{PID: 100, At: at(1)},
	}},
	{"failed", webPolicy, []Event{
		Start{At: at(0)}, PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)},
		SpawnFailed{Reason: "exec: no such file", At: at(0)},
	}},
	{"failed-by-limit", func() services.Policy {
		p := webPolicy()
		p.Requires = nil
		p.RespawnLimit = services.RespawnLimit{Count: 1, Window: time.Minute}
		p.RespawnCooldown = time.Minute
		return p
	}, []Event{
		Start{At: at(0)}, Spawned{PID: 100, At: at(1)}, Exited{PID: 100, Status: ExitStatus{Code: 1}, At: at(2)},
		TimerFired{Timer: RespawnTimer, Gen: 1, At: at(3)}, Spawned{PID: 101, At: at(3)},
		Exited{PID: 101, Status: ExitStatus{Code: 1}, At: at(4)},
	}},
}

// probes are the events tried in every situation.
var probes = []struct {
	name string
	ev   Event
}{
	{"start", Start{Waiter: 9, At: at(10)}},
	{"stop", Stop{Waiter: 9, At: at(10)}},
	{"restart", Restart{Waiter: 9, At: at(10)}},
	{"enable", Enable{Waiter: 9, At: at(10)}},
	{"disable", Disable{Waiter: 9, At: at(10)}},
	{"peer-started", PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted, Steps: []Step{{"net", OutStarted}}}, At: at(10)}},
	{"peer-start-failed", PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutFailed}, At: at(10)}},
	{"peer-stopped", PeerDone{Name: "app", Op: PeerStop, Result: Result{Outcome: OutStopped, Steps: []Step{{"app", OutStopped}}}, At: at(10)}},
	{"spawned", Spawned{PID: 200, At: at(10)}},
	{"spawn-failed", SpawnFailed{Reason: "fork/exec /x: no such file or directory", At: at(10)}},
	{"exit-0", Exited{PID: 100, Status: ExitStatus{Code: 0}, At: at(10)}},
	{"exit-killed", Exited{PID: 100, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(10)}},
	{"exit-unknown", Exited{PID: 100, Status: ExitStatus{Unknown: true}, At: at(10)}},
	{"exit-stale", Exited{PID: 42, Status: ExitStatus{Code: 1}, At: at(10)}},
	{"stop-timer", TimerFired{Timer: StopTimer, Gen: 1, At: at(10)}},
	{"respawn-timer", TimerFired{Timer: RespawnTimer, Gen: 1, At: at(10)}},
	{"cooldown-timer", TimerFired{Timer: CooldownTimer, Gen: 4, At: at(10)}},
	{"stale-timer", TimerFired{Timer: StopTimer, Gen: 99, At: at(10)}},
	{"kill-timer", TimerFired{Timer: KillTimer, Gen: 1, At: at(10)}},
	{"pid-file-found", PIDFileFound{PID: 300, At: at(10)}},
	{"pid-file-refused", PIDFileRefused{Reason: "pid file /run/x.pid names process 1, which is not a descendant of the service", At: at(10)}},
}

func build(t *testing.T, s situation) *Machine {
	t.Helper()
	m := NewMachine(s.policy(), t0)
	for _, ev := range s.setup {
		m.Step(ev)
	}
	return m
}

func stepCatching(m *Machine, ev Event) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = "PANIC (impossible transition)"
		}
	}()
	effs := m.Step(ev)
	return fmt.Sprintf("%-9v %s", m.State(), fmtEffects(effs))
}

// TestTransitionTable steps every event in every situation and compares the
// resulting state and effects with testdata/transitions.txt. Run with
// -update to rewrite it, then review the diff.
func TestTransitionTable(t *testing.T) {
	var b strings.Builder
	for _, s := range situations {
		fmt.Fprintf(&b, "# %s\n", s.name)
		for _, p := range probes {
			m := build(t, s)
			fmt.Fprintf(&b, "%-18s -> %s\n", p.name, stepCatching(m, p.ev))
		}
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "transitions.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestTransitionTable -update ./services/)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("transition table changed; run with -update and review the diff.\ngot:\n%s", got)
	}
}

// TestSituations checks that each situation is the state its name says.
func TestSituations(t *testing.T) {
	for _, s := range situations {
		m := build(t, s)
		want := strings.SplitN(s.name, "/", 2)[0]
		for _, suffix := range []string{"-disabled", "-by-limit", "-at-limit"} {
			want = strings.TrimSuffix(want, suffix)
		}
		if got := m.State().String(); got != want {
			t.Errorf("%s: state %s", s.name, got)
		}
	}
}

type script struct {
	t *testing.T
	m *Machine
}

func (s script) step(ev Event, want string) {
	s.t.Helper()
	if got := fmtEffects(s.m.Step(ev)); got != want {
		s.t.Fatalf("after %T%+v:\n got: %s\nwant: %s", ev, ev, got, want)
	}
}

func TestStartWithRequirementsAndConcurrentCallers(t *testing.T) {
	s := script{t, NewMachine(webPolicy(), t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) start-peers(net)")
	s.step(Start{Waiter: 2, At: at(0)}, "-")
	s.step(PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted, Steps: []Step{{"net", OutStarted}}}, At: at(0)}, "spawn")
	s.step(Spawned{PID: 7, At: at(1)}, "rec(start,7) starting->running rec(state,running) reply(1,started,net:started,web:started) reply(2,started,net:started,web:started)")
	s.step(Start{Waiter: 3, At: at(2)}, "reply(3,already-running)")
}

func TestRequirementFailure(t *testing.T) {
	p := webPolicy()
	p.Requires = []string{"a", "b"}
	s := script{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) start-peers(a,b)")
	s.step(PeerDone{Name: "b", Op: PeerStart, Result: Result{Outcome: OutFailed}, At: at(0)}, "-")
	s.step(PeerDone{Name: "a", Op: PeerStart, Result: Result{Outcome: OutStarted, Steps: []Step{{"a", OutStarted}}}, At: at(0)},
		"starting->stopped rec(state,stopped) reply(1,failed,dep=b,a:started)")
}

func TestStopStopsDependentsFirstThenEscalates(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	s := script{t, NewMachine(p, t0)}
	s.step(SetDependents{Names: []string{"app", "cron"}}, "-")
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7) starting->running rec(state,running)")
	s.step(Stop{Waiter: 1, At: at(1)}, "running->stopping rec(state,stopping) stop-peers(app,cron)")
	s.step(PeerDone{Name: "app", Op: PeerStop, Result: Result{Outcome: OutStopped, Steps: []Step{{"app", OutStopped}}}, At: at(1)}, "-")
	s.step(PeerDone{Name: "cron", Op: PeerStop, Result: Result{Outcome: OutNotRunning}, At: at(1)}, "signal(7,SIGTERM) arm(stop,5s)")
	s.step(TimerFired{Timer: StopTimer, Gen: 1, At: at(6)}, "signal(7,SIGKILL) arm(kill,5s)")
	s.step(Exited{PID: 7, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(6)},
		"rec(exit,7,SIGKILL,ran=6s) signal(7,SIGKILL) stopping->stopped rec(state,stopped) reply(1,stopped,app:stopped,web:stopped)")
	s.step(Stop{Waiter: 2, At: at(7)}, "reply(2,not-running)")
	if e := s.m.Snapshot().LastExit; e == nil || e.Status.Signal != syscall.SIGKILL || e.Runtime != 6*time.Second {
		t.Fatalf("last exit %+v", e)
	}
}

func TestRespawnLimitDisablesThenEnableAllowsStart(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	p.RespawnLimit = services.RespawnLimit{Count: 2, Window: 10 * time.Second}
	s := script{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	pid := 10
	s.step(Spawned{PID: pid, At: at(0)}, "rec(start,10) starting->running rec(state,running)")
	for i := 1; i <= 2; i++ {
		s.step(Exited{PID: pid, Status: ExitStatus{Code: 1}, At: at(float64(i))},
			fmt.Sprintf("rec(exit,%d,code=1,ran=1s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)", pid))
		s.step(TimerFired{Timer: RespawnTimer, Gen: uint64(i), At: at(float64(i))}, "spawn")
		pid++
		s.step(Spawned{PID: pid, At: at(float64(i))}, fmt.Sprintf("rec(start,%d) starting->running rec(state,running)", pid))
	}
	s.step(Exited{PID: pid, Status: ExitStatus{Code: 1}, At: at(3)}, "rec(exit,12,code=1,ran=1s) running->failed rec(state,failed,msg=respawn limit hit: 2 respawns within 10s) rec(respawn-limit,msg=respawn limit hit: 2 respawns within 10s) intent(disabled,respawn-limit)")
	snap := s.m.Snapshot()
	if snap.Enabled || !snap.Failing || snap.RespawnCount != 2 {
		t.Fatalf("snapshot %+v", snap)
	}
	s.step(Start{Waiter: 1, At: at(4)}, "reply(1,failed,refused)")
	s.step(Enable{Waiter: 2, At: at(5)}, "intent(enabled) reply(2,enabled)")
	s.step(Start{Waiter: 3, At: at(5)}, "failed->starting rec(state,starting) spawn")
}

func TestRespawnWindowForgetsOldRespawns(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	p.RespawnLimit = services.RespawnLimit{Count: 1, Window: 10 * time.Second}
	s := script{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 1, At: at(0)}, "rec(start,1) starting->running rec(state,running)")
	s.step(Exited{PID: 1, At: at(1)}, "rec(exit,1,code=0,ran=1s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(TimerFired{Timer: RespawnTimer, Gen: 1, At: at(1)}, "spawn")
	s.step(Spawned{PID: 2, At: at(1)}, "rec(start,2) starting->running rec(state,running)")
	// 20 s later the first respawn is outside the window.
	s.step(Exited{PID: 2, At: at(21)}, "rec(exit,2,code=0,ran=20s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
}

func TestUnlimitedRespawnAndExponentialBackoff(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	p.RespawnLimit = services.RespawnLimit{Unlimited: true}
	p.RespawnBackoff = true
	p.RespawnDelay = time.Second
	p.RespawnMaxDelay = 4 * time.Second
	s := script{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	now := 0.0
	pid := 1
	s.step(Spawned{PID: pid, At: at(now)}, "rec(start,1) starting->running rec(state,running)")
	for i, want := range []string{"1s", "2s", "4s", "4s", "4s", "4s", "4s", "4s"} {
		now += 0.5
		s.step(Exited{PID: pid, At: at(now)},
			fmt.Sprintf("rec(exit,%d,code=0,ran=500ms) running->starting rec(state,starting) rec(respawn) arm(respawn,%s)", pid, want))
		s.step(TimerFired{Timer: RespawnTimer, Gen: uint64(i + 1), At: at(now)}, "spawn")
		pid++
		s.step(Spawned{PID: pid, At: at(now)}, fmt.Sprintf("rec(start,%d) starting->running rec(state,running)", pid))
	}
	// A stable run (as long as the maximum delay) resets the backoff.
	now += 5
	s.step(Exited{PID: pid, At: at(now)}, "rec(exit,9,code=0,ran=5s) running->starting rec(state,starting) rec(respawn) arm(respawn,1s)")
}

func TestCooldownRetriesOnce(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	p.RespawnLimit = services.RespawnLimit{Count: 0, Window: time.Minute}
	p.RespawnCooldown = 5 * time.Minute
	s := script{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 1, At: at(0)}, "rec(start,1) starting->running rec(state,running)")
	s.step(Exited{PID: 1, At: at(1)}, "rec(exit,1,code=0,ran=1s) running->failed rec(state,failed,msg=respawn limit hit: 0 respawns within 1m0s) rec(respawn-limit,msg=respawn limit hit: 0 respawns within 1m0s) intent(disabled,respawn-limit) arm(cooldown,5m0s)")
	s.step(TimerFired{Timer: CooldownTimer, Gen: s.m.gens[CooldownTimer], At: at(301)}, "intent(enabled) failed->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 2, At: at(301)}, "rec(start,2) starting->running rec(state,running)")
	s.step(Exited{PID: 2, At: at(302)}, "rec(exit,2,code=0,ran=1s) running->failed rec(state,failed,msg=respawn limit hit: 0 respawns within 1m0s) rec(respawn-limit,msg=respawn limit hit: 0 respawns within 1m0s) intent(disabled,respawn-limit) arm(cooldown,5m0s)")
	// An explicit stop cancels the pending retry.
	armed := s.m.gens[CooldownTimer]
	s.step(Stop{Waiter: 1, At: at(303)}, "failed->stopped rec(state,stopped) reply(1,not-running)")
	s.step(TimerFired{Timer: CooldownTimer, Gen: armed, At: at(603)}, "-")
}

func TestExplicitStopNeverRespawnsAndDisableThenKill(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	s := script{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 1, At: at(0)}, "rec(start,1) starting->running rec(state,running)")
	s.step(Disable{Waiter: 1, At: at(1)}, "intent(disabled,herd-disable) reply(1,disabled)")
	s.step(Exited{PID: 1, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(2)}, "rec(exit,1,SIGKILL,ran=2s) running->stopped rec(state,stopped)")
	s.step(Start{Waiter: 2, At: at(3)}, "reply(2,failed,refused)")
	s.step(Enable{Waiter: 3, At: at(3)}, "intent(enabled) reply(3,enabled)")
	s.step(Start{Waiter: 4, At: at(3)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 2, At: at(3)}, "rec(start,2) starting->running rec(state,running) reply(4,started,web:started)")
	s.step(Stop{Waiter: 5, At: at(4)}, "running->stopping rec(state,stopping) signal(2,SIGTERM) arm(stop,5s)")
	s.step(Exited{PID: 2, Status: ExitStatus{Signal: syscall.SIGTERM}, At: at(4)}, "rec(exit,2,SIGTERM,ran=1s) signal(2,SIGKILL) stopping->stopped rec(state,stopped) reply(5,stopped,web:stopped)")
}

func TestRestartBringsBackRunningDependents(t *testing.T) {
	p := webPolicy()
	s := script{t, NewMachine(p, t0)}
	s.step(SetDependents{Names: []string{"app", "cron"}}, "-")
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) start-peers(net)")
	s.step(PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutAlreadyRunning}, At: at(0)}, "spawn")
	s.step(Spawned{PID: 1, At: at(0)}, "rec(start,1) starting->running rec(state,running)")
	s.step(Restart{Waiter: 1, At: at(1)}, "running->stopping rec(state,stopping) stop-peers(app,cron)")
	s.step(PeerDone{Name: "app", Op: PeerStop, Result: Result{Outcome: OutStopped, Steps: []Step{{"app", OutStopped}}}, At: at(1)}, "-")
	s.step(PeerDone{Name: "cron", Op: PeerStop, Result: Result{Outcome: OutNotRunning}, At: at(1)}, "signal(1,SIGTERM) arm(stop,5s)")
	s.step(Exited{PID: 1, At: at(1)}, "rec(exit,1,code=0,ran=1s) signal(1,SIGKILL) stopping->stopped rec(state,stopped) stopped->starting rec(state,starting) start-peers(net)")
	s.step(PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutAlreadyRunning}, At: at(1)}, "spawn")
	s.step(Spawned{PID: 2, At: at(2)}, "rec(start,2) starting->running rec(state,running) start-peers(app)")
	s.step(PeerDone{Name: "app", Op: PeerStart, Result: Result{Outcome: OutStarted, Steps: []Step{{"app", OutStarted}}}, At: at(2)},
		"reply(1,started,app:stopped,web:stopped,web:started,app:started)")
}

func TestOneShot(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	p.OneShot, p.Respawn = true, false
	s := script{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 1, At: at(0)}, "rec(start,1)")
	s.step(Exited{PID: 1, At: at(1)}, "rec(exit,1,code=0,ran=1s) starting->stopped rec(state,stopped) reply(1,started,web:started)")
	if !s.m.Snapshot().Done {
		t.Fatal("one-shot success not marked done")
	}
	s.step(Start{Waiter: 2, At: at(2)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 2, At: at(2)}, "rec(start,2)")
	s.step(Exited{PID: 2, Status: ExitStatus{Code: 3}, At: at(3)}, "rec(exit,2,code=3,ran=1s) starting->failed rec(state,failed,msg=one-shot process exited with code 3) reply(2,failed,reason=one-shot process exited with code 3)")
}

func TestMilestone(t *testing.T) {
	p := services.Policy{Name: "net", StopSignal: syscall.SIGTERM}
	s := script{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) starting->running rec(state,running) reply(1,started,net:started)")
	s.step(Stop{Waiter: 2, At: at(1)}, "running->stopping rec(state,stopping) stopping->stopped rec(state,stopped) reply(2,stopped,net:stopped)")
}

func TestStopWhileSpawning(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	s := script{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Stop{Waiter: 2, At: at(0)}, "-")
	s.step(Spawned{PID: 5, At: at(0)}, "rec(start,5) reply(1,failed,reason=stopped while starting) starting->stopping rec(state,stopping) signal(5,SIGTERM) arm(stop,5s)")
	s.step(Exited{PID: 5, At: at(1)}, "rec(exit,5,code=0,ran=1s) signal(5,SIGKILL) stopping->stopped rec(state,stopped) reply(2,stopped,web:stopped)")
}

func TestReplaceAppliesAtNextStartNotAtRespawn(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	s := script{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 1, At: at(0)}, "rec(start,1) starting->running rec(state,running)")
	next := p
	next.StopSignal = syscall.SIGINT
	next.RespawnDelay = time.Second
	if s.m.Replace(next) {
		t.Fatal("a running service must not switch at once")
	}
	// A respawn keeps the old definition...
	s.step(Exited{PID: 1, At: at(1)}, "rec(exit,1,code=0,ran=1s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(TimerFired{Timer: RespawnTimer, Gen: s.m.gens[RespawnTimer], At: at(1)}, "spawn")
	s.step(Spawned{PID: 2, At: at(1)}, "rec(start,2) starting->running rec(state,running)")
	s.step(Stop{Waiter: 1, At: at(2)}, "running->stopping rec(state,stopping) signal(2,SIGTERM) arm(stop,5s)")
	s.step(Exited{PID: 2, At: at(2)}, "rec(exit,2,code=0,ran=1s) signal(2,SIGKILL) stopping->stopped rec(state,stopped) reply(1,stopped,web:stopped)")
	// ...the next start takes the new one.
	s.step(Start{At: at(3)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 3, At: at(3)}, "rec(start,3) starting->running rec(state,running)")
	s.step(Stop{Waiter: 2, At: at(4)}, "running->stopping rec(state,stopping) signal(3,SIGINT) arm(stop,5s)")
	s.step(Exited{PID: 3, At: at(4)}, "rec(exit,3,code=0,ran=1s) signal(3,SIGKILL) stopping->stopped rec(state,stopped) reply(2,stopped,web:stopped)")
	if !s.m.Replace(p) || s.m.Policy().StopSignal != syscall.SIGTERM {
		t.Fatal("a stopped service switches at once")
	}
}

func TestPIDFile(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	p.PIDFile, p.PIDFileTimeout = true, 5*time.Second
	s := script{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) watch-pid-file arm(pid-file,5s)")
	// The launcher daemonizes: exit 0 is expected.
	s.step(Exited{PID: 10, At: at(1)}, "-")
	s.step(PIDFileFound{PID: 20, At: at(1)}, "starting->running rec(state,running) reply(1,started,web:started)")
	if s.m.PID() != 20 {
		t.Fatalf("main PID %d, want the PID file's 20", s.m.PID())
	}
	// A respawn waits for the PID file again.
	s.step(Exited{PID: 20, At: at(2)}, "rec(exit,20,code=0,ran=2s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(TimerFired{Timer: RespawnTimer, Gen: s.m.gens[RespawnTimer], At: at(2)}, "spawn")
	s.step(Spawned{PID: 30, At: at(2)}, "rec(start,30) watch-pid-file arm(pid-file,5s)")
	s.step(PIDFileFound{PID: 40, At: at(3)}, "starting->running rec(state,running)")
	s.step(Stop{Waiter: 2, At: at(4)}, "running->stopping rec(state,stopping) signal(40,SIGTERM) arm(stop,5s)")
	s.step(Exited{PID: 40, At: at(4)}, "rec(exit,40,code=0,ran=2s) signal(40,SIGKILL) stopping->stopped rec(state,stopped) reply(2,stopped,web:stopped)")

	// No PID file in time: failed, the launcher's group killed.
	s.step(Start{Waiter: 3, At: at(5)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 50, At: at(5)}, "rec(start,50) watch-pid-file arm(pid-file,5s)")
	s.step(TimerFired{Timer: PIDFileTimer, Gen: s.m.gens[PIDFileTimer], At: at(10)},
		"signal(50,SIGKILL) starting->failed rec(state,failed,msg=no PID file within 5s) reply(3,failed,reason=no PID file within 5s)")

	// A launcher that fails before writing the file fails the start.
	s.step(Start{Waiter: 4, At: at(11)}, "failed->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 60, At: at(11)}, "rec(start,60) watch-pid-file arm(pid-file,5s)")
	s.step(Exited{PID: 60, Status: ExitStatus{Code: 2}, At: at(12)},
		"starting->failed rec(state,failed,msg=process exited with code 2 before writing its PID file) reply(4,failed,reason=process exited with code 2 before writing its PID file)")
}

// A process whose exit never comes (unkillable, or not reapable by the
// daemon) does not keep a stop waiting: services.KillWait after the SIGKILL the
// machine disowns it and is stopped, saying why; its late exit is stale,
// and the next start clears the message.
func TestStopEndsWithoutAnExitAfterKillWait(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	s := script{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) starting->running rec(state,running) reply(1,started,web:started)")
	s.step(Stop{Waiter: 2, At: at(1)}, "running->stopping rec(state,stopping) signal(10,SIGTERM) arm(stop,5s)")
	s.step(TimerFired{Timer: StopTimer, Gen: s.m.gens[StopTimer], At: at(6)}, "signal(10,SIGKILL) arm(kill,5s)")
	var tr Transition
	for _, e := range s.m.Step(TimerFired{Timer: KillTimer, Gen: s.m.gens[KillTimer], At: at(11)}) {
		if e, ok := e.(Transition); ok {
			tr = e
		}
	}
	want := "process 10 could not be stopped: still there 5s after SIGKILL"
	if s.m.State() != Stopped || s.m.PID() != 0 || tr.Reason != want || s.m.Snapshot().StopIssue != want {
		t.Fatalf("after the kill wait: %v, pid %d, transition reason %q, status %q", s.m.State(), s.m.PID(), tr.Reason, s.m.Snapshot().StopIssue)
	}
	s.step(Exited{PID: 10, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(20)}, "-")
	s.step(Start{Waiter: 3, At: at(21)}, "stopped->starting rec(state,starting) spawn")
	if got := s.m.Snapshot().StopIssue; got != "" {
		t.Errorf("a new start keeps %q", got)
	}
	// An exit in time cancels the kill timer.
	s.step(Spawned{PID: 11, At: at(21)}, "rec(start,11) starting->running rec(state,running) reply(3,started,web:started)")
	s.step(Stop{Waiter: 4, At: at(22)}, "running->stopping rec(state,stopping) signal(11,SIGTERM) arm(stop,5s)")
	s.step(TimerFired{Timer: StopTimer, Gen: s.m.gens[StopTimer], At: at(27)}, "signal(11,SIGKILL) arm(kill,5s)")
	gen := s.m.gens[KillTimer]
	s.step(Exited{PID: 11, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(28)}, "rec(exit,11,SIGKILL,ran=7s) signal(11,SIGKILL) stopping->stopped rec(state,stopped) reply(4,stopped,web:stopped)")
	s.step(TimerFired{Timer: KillTimer, Gen: gen, At: at(32)}, "-")
}

// A refused PID file fails the start with its reason and kills what is
// left of the launcher's group; a file found afterwards changes nothing.
func TestPIDFileRefused(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	p.PIDFile, p.PIDFileTimeout = true, 5*time.Second
	s := script{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) watch-pid-file arm(pid-file,5s)")
	s.step(PIDFileRefused{Reason: "pid file /x.pid names process 1, which is not a descendant of the service", At: at(1)},
		"signal(10,SIGKILL) starting->failed rec(state,failed,msg=pid file /x.pid names process 1, which is not a descendant of the service) reply(1,failed,reason=pid file /x.pid names process 1, which is not a descendant of the service)")
	s.step(PIDFileFound{PID: 20, At: at(1)}, "-")
	s.step(TimerFired{Timer: PIDFileTimer, Gen: 1, At: at(5)}, "-")
	if s.m.PID() != 0 || s.m.Snapshot().FailReason == "" {
		t.Fatalf("pid %d, reason %q", s.m.PID(), s.m.Snapshot().FailReason)
	}
	// A launcher that already exited (daemonized) is not signalled.
	s.step(Start{Waiter: 2, At: at(6)}, "failed->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 30, At: at(6)}, "rec(start,30) watch-pid-file arm(pid-file,5s)")
	s.step(Exited{PID: 30, At: at(6)}, "-")
	s.step(PIDFileRefused{Reason: "pid file /x.pid is a FIFO, not a regular file", At: at(7)},
		"starting->failed rec(state,failed,msg=pid file /x.pid is a FIFO, not a regular file) reply(2,failed,reason=pid file /x.pid is a FIFO, not a regular file)")
}

// TestEveryStartIsAnswered: a start asked for during the respawn delay
// and then called off by a disable, or asked for while stopping and then
// called off by a stop, is answered (it used to wait forever; found by
// TestReadinessRandomWalks).
func TestEveryStartIsAnswered(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	s := script{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7) starting->running rec(state,running)")
	s.step(Exited{PID: 7, Status: ExitStatus{Code: 1}, At: at(1)}, "rec(exit,7,code=1,ran=1s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(Start{Waiter: 1, At: at(1)}, "-")
	s.step(Disable{Waiter: 2, At: at(1)}, "intent(disabled,herd-disable) starting->stopped rec(state,stopped) reply(1,failed,refused) reply(2,disabled)")
	s.step(Enable{At: at(2)}, "intent(enabled)")
	s.step(Start{At: at(2)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 8, At: at(2)}, "rec(start,8) starting->running rec(state,running)")
	s.step(Stop{Waiter: 3, At: at(3)}, "running->stopping rec(state,stopping) signal(8,SIGTERM) arm(stop,5s)")
	s.step(Start{Waiter: 4, At: at(3)}, "-")
	s.step(Stop{Waiter: 5, At: at(3)}, "reply(4,failed,reason=stopped while starting)")
	s.step(Exited{PID: 8, Status: ExitStatus{Signal: syscall.SIGTERM}, At: at(4)},
		"rec(exit,8,SIGTERM,ran=2s) signal(8,SIGKILL) stopping->stopped rec(state,stopped) reply(3,stopped,web:stopped) reply(5,stopped,web:stopped)")
}
