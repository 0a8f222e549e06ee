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

func cgroupPolicy() services.Policy {
	p := webPolicy()
	p.Requires = nil
	p.Cgroup = true
	return p
}

func fmtCgroupEffects(effs []Effect) string {
	var parts []string
	for _, e := range effs {
		if k, ok := e.(KillCgroup); ok {
			parts = append(parts, fmt.Sprintf("kill-cgroup(%d)", k.Gen))
			continue
		}
		parts = append(parts, fmtEffects([]Effect{e}))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

type cgScript struct {
	t *testing.T
	m *Machine
}

func (s cgScript) step(ev Event, want string) {
	s.t.Helper()
	if got := fmtCgroupEffects(s.m.Step(ev)); got != want {
		s.t.Fatalf("after %T%+v:\n got: %s\nwant: %s", ev, ev, got, want)
	}
}

// A stop ends when the cgroup is empty, not when the main process
// exits: what it left (a double fork, a setsid child) is killed first.
func TestCgroupStopWaitsForEmpty(t *testing.T) {
	s := cgScript{t, NewMachine(cgroupPolicy(), t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) starting->running rec(state,running) reply(1,started,web:started)")
	s.step(Stop{Waiter: 2, At: at(1)}, "running->stopping rec(state,stopping) signal(10,SIGTERM) arm(stop,5s)")
	s.step(Exited{PID: 10, At: at(2)}, "rec(exit,10,code=0,ran=2s) kill-cgroup(1)")
	if s.m.State() != Stopping {
		t.Fatalf("stopped before the cgroup is empty: %v", s.m.State())
	}
	s.step(CgroupEmpty{Gen: 1, At: at(2)}, "stopping->stopped rec(state,stopped) reply(2,stopped,web:stopped)")
	// A stale answer changes nothing.
	s.step(CgroupEmpty{Gen: 1, At: at(3)}, "-")
}

// stop-timeout kills the whole cgroup, not only the group.
func TestCgroupStopTimeoutKillsCgroup(t *testing.T) {
	s := cgScript{t, NewMachine(cgroupPolicy(), t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) starting->running rec(state,running)")
	s.step(Stop{Waiter: 2, At: at(1)}, "running->stopping rec(state,stopping) signal(10,SIGTERM) arm(stop,5s)")
	s.step(TimerFired{Timer: StopTimer, Gen: s.m.gens[StopTimer], At: at(6)}, "kill-cgroup(1) arm(kill,5s)")
	// The cgroup may be empty before the reaper reports the exit.
	s.step(CgroupEmpty{Gen: 1, At: at(6)}, "-")
	s.step(Exited{PID: 10, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(6)}, "rec(exit,10,SIGKILL,ran=6s) kill-cgroup(2)")
	s.step(CgroupEmpty{Gen: 2, At: at(6)}, "stopping->stopped rec(state,stopped) reply(2,stopped,web:stopped)")
}

// A crash kills what the process left, and the respawn waits until the
// cgroup is empty, whichever comes first.
func TestCgroupRespawnWaitsForEmpty(t *testing.T) {
	s := cgScript{t, NewMachine(cgroupPolicy(), t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) starting->running rec(state,running)")
	s.step(Exited{PID: 10, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(1)},
		"rec(exit,10,SIGKILL,ran=1s) kill-cgroup(1) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(TimerFired{Timer: RespawnTimer, Gen: s.m.gens[RespawnTimer], At: at(1.1)}, "-")
	s.step(CgroupEmpty{Gen: 1, At: at(1.2)}, "spawn")
	s.step(Spawned{PID: 11, At: at(1.2)}, "rec(start,11) starting->running rec(state,running)")
	// Emptiness first, then the delay: spawned at once.
	s.step(Exited{PID: 11, At: at(2)}, "rec(exit,11,code=0,ran=800ms) kill-cgroup(2) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(CgroupEmpty{Gen: 2, At: at(2)}, "-")
	s.step(TimerFired{Timer: RespawnTimer, Gen: s.m.gens[RespawnTimer], At: at(2.1)}, "spawn")
}

// A wait that timed out is reported, and the machine goes on.
func TestCgroupNotEmptyIsReported(t *testing.T) {
	s := cgScript{t, NewMachine(cgroupPolicy(), t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) starting->running rec(state,running)")
	s.step(Stop{Waiter: 2, At: at(1)}, "running->stopping rec(state,stopping) signal(10,SIGTERM) arm(stop,5s)")
	s.step(Exited{PID: 10, At: at(2)}, "rec(exit,10,code=0,ran=2s) kill-cgroup(1)")
	issue := "cgroup /x/web.service is not empty after 5s: 1 process(es) left [77]"
	s.step(CgroupEmpty{Gen: 1, Left: 1, Issue: issue, At: at(7)},
		"stopping->stopped rec(state,stopped,msg="+issue+") reply(2,stopped,web:stopped)")
	if got := s.m.Snapshot().StopIssue; got != issue {
		t.Errorf("stop issue %q", got)
	}
}

// A crash without respawn is stopped once the cgroup is empty; a stop
// while a respawn waits for emptiness spawns nothing.
func TestCgroupCrashWithoutRespawnAndStopWhileWaiting(t *testing.T) {
	p := cgroupPolicy()
	p.Respawn = false
	s := cgScript{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) starting->running rec(state,running)")
	s.step(Exited{PID: 10, Status: ExitStatus{Code: 1}, At: at(1)}, "rec(exit,10,code=1,ran=1s) kill-cgroup(1) running->stopping rec(state,stopping)")
	s.step(Start{Waiter: 1, At: at(1)}, "-")
	s.step(CgroupEmpty{Gen: 1, At: at(1)}, "stopping->stopped rec(state,stopped) stopped->starting rec(state,starting) spawn")

	s = cgScript{t, NewMachine(cgroupPolicy(), t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) starting->running rec(state,running)")
	s.step(Exited{PID: 10, Status: ExitStatus{Code: 1}, At: at(1)}, "rec(exit,10,code=1,ran=1s) kill-cgroup(1) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(TimerFired{Timer: RespawnTimer, Gen: s.m.gens[RespawnTimer], At: at(1.1)}, "-")
	s.step(Stop{Waiter: 2, At: at(1.2)}, "starting->stopping rec(state,stopping)")
	s.step(CgroupEmpty{Gen: 1, At: at(1.3)}, "stopping->stopped rec(state,stopped) reply(2,stopped,web:stopped)")
}

// A PID file service: a launcher's failure and the PID file's timeout
// kill the cgroup, so no half-started daemon stays.
func TestCgroupPIDFile(t *testing.T) {
	p := cgroupPolicy()
	p.PIDFile, p.PIDFileTimeout = true, 5*time.Second
	s := cgScript{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) watch-pid-file arm(pid-file,5s)")
	s.step(TimerFired{Timer: PIDFileTimer, Gen: s.m.gens[PIDFileTimer], At: at(5)},
		"kill-cgroup(1) starting->failed rec(state,failed,msg=no PID file within 5s) reply(1,failed,reason=no PID file within 5s)")
	// A start right after waits for the cgroup to be empty.
	s.step(Start{Waiter: 2, At: at(5)}, "failed->starting rec(state,starting)")
	s.step(CgroupEmpty{Gen: 1, At: at(5)}, "spawn")
	s.step(Spawned{PID: 20, At: at(5)}, "rec(start,20) watch-pid-file arm(pid-file,5s)")
	s.step(Exited{PID: 20, Status: ExitStatus{Code: 1}, At: at(6)},
		"kill-cgroup(2) starting->failed rec(state,failed,msg=process exited with code 1 before writing its PID file) reply(2,failed,reason=process exited with code 1 before writing its PID file)")
	// Stopping a failed service whose cgroup is being killed waits.
	s.step(Stop{Waiter: 3, At: at(6)}, "failed->stopping rec(state,stopping)")
	s.step(CgroupEmpty{Gen: 2, At: at(6)}, "stopping->stopped rec(state,stopped) reply(3,stopped,web:stopped)")
	// The master named by the file crashes: its workers are killed
	// before the respawn.
	s.step(Start{Waiter: 4, At: at(7)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 30, At: at(7)}, "rec(start,30) watch-pid-file arm(pid-file,5s)")
	s.step(Exited{PID: 30, At: at(7)}, "-")
	s.step(PIDFileFound{PID: 31, At: at(7)}, "starting->running rec(state,running) reply(4,started,web:started)")
	s.step(Exited{PID: 31, Status: ExitStatus{Signal: syscall.SIGKILL}, At: at(8)},
		"rec(exit,31,SIGKILL,ran=1s) kill-cgroup(3) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
}

// A machine waiting for its cgroup cannot be saved for a re-exec.
func TestCgroupKillingIsBusy(t *testing.T) {
	s := cgScript{t, NewMachine(cgroupPolicy(), t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 10, At: at(0)}, "rec(start,10) starting->running rec(state,running)")
	s.step(Exited{PID: 10, At: at(1)}, "rec(exit,10,code=0,ran=1s) kill-cgroup(1) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	if _, err := s.m.Save([NumTimers]time.Time{}); err == nil {
		t.Fatal("saved while the cgroup is being killed")
	}
	s.step(CgroupEmpty{Gen: 1, At: at(1)}, "-")
	if _, err := s.m.Save([NumTimers]time.Time{}); err != nil {
		t.Fatalf("respawn delay after the cgroup emptied: %v", err)
	}
}

// TestCgroupTransitionTable is TestTransitionTable's table for a service
// with a cgroup, with the cgroup's answers among the probes
// (testdata/transitions-cgroup.txt; -update rewrites it).
func TestCgroupTransitionTable(t *testing.T) {
	cgProbes := append(probes[:len(probes):len(probes)],
		struct {
			name string
			ev   Event
		}{"cgroup-empty", CgroupEmpty{Gen: 1, At: at(10)}},
		struct {
			name string
			ev   Event
		}{"cgroup-left", CgroupEmpty{Gen: 1, Left: 2, Issue: "2 left", At: at(10)}},
	)
	var b strings.Builder
	for _, s := range situations {
		pol := s.policy
		s.policy = func() services.Policy { p := pol(); p.Cgroup = true; return p }
		fmt.Fprintf(&b, "# %s\n", s.name)
		for _, p := range cgProbes {
			m := build(t, s)
			fmt.Fprintf(&b, "%-18s -> %s\n", p.name, stepCgroupCatching(m, p.ev))
		}
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "transitions-cgroup.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestCgroupTransitionTable -update ./services/)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("transition table changed; run with -update and review the diff.\ngot:\n%s", got)
	}
}

func stepCgroupCatching(m *Machine, ev Event) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = "PANIC (impossible transition)"
		}
	}()
	effs := m.Step(ev)
	return fmt.Sprintf("%-9v %s", m.State(), fmtCgroupEffects(effs))
}
