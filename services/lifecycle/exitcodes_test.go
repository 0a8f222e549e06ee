package lifecycle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/shepherd-go/shepherd/services"
)

// exitCodesPolicy is webPolicy with `exit-codes: [0, 143, SIGHUP]`, then
// changed by f.
func exitCodesPolicy(f func(*services.Policy)) func() services.Policy {
	return func() services.Policy {
		p := webPolicy()
		p.Requires = nil
		p.ExitCodes = services.ExitCodes{Codes: []int{0, 143}, Signals: []syscall.Signal{syscall.SIGHUP}}
		f(&p)
		return p
	}
}

var (
	ecRespawn   = exitCodesPolicy(func(*services.Policy) {})
	ecOnFailure = exitCodesPolicy(func(p *services.Policy) { p.RespawnOnFailure = true })
	ecNoRespawn = exitCodesPolicy(func(p *services.Policy) { p.Respawn = false })
	ecOneShot   = exitCodesPolicy(func(p *services.Policy) { p.OneShot, p.Respawn = true, false })
	ecLazy      = exitCodesPolicy(func(p *services.Policy) {
		p.Activation = services.Activation{Style: services.ActivationSystemd, OnConnection: true}
	})
)

// exitCodesSituations are the situations in which an exit's status
// matters, for a service with exit-codes.
var exitCodesSituations = []situation{
	{"running/respawn", ecRespawn, []Event{Start{At: at(0)}, Spawned{PID: 100, At: at(1)}}},
	{"running/on-failure", ecOnFailure, []Event{Start{At: at(0)}, Spawned{PID: 100, At: at(1)}}},
	{"running/no-respawn", ecNoRespawn, []Event{Start{At: at(0)}, Spawned{PID: 100, At: at(1)}}},
	{"starting/one-shot", ecOneShot, []Event{Start{Waiter: 1, At: at(0)}, Spawned{PID: 100, At: at(1)}}},
	{"stopping/exit", ecRespawn, []Event{Start{At: at(0)}, Spawned{PID: 100, At: at(1)}, Stop{Waiter: 2, At: at(2)}}},
	{"stopping/dependents", ecRespawn, []Event{
		SetDependents{Names: []string{"app"}}, Start{At: at(0)}, Spawned{PID: 100, At: at(1)}, Stop{Waiter: 2, At: at(2)},
	}},
	{"running/lazy-process", ecLazy, []Event{Start{At: at(0)}, Listening{At: at(0)}, ConnectionPending{At: at(1)}, Spawned{PID: 100, At: at(1)}}},
}

var exitCodesProbes = []struct {
	name string
	ev   Event
}{
	{"exit-0", Exited{PID: 100, Status: ExitStatus{Code: 0}, At: at(10)}},
	{"exit-143", Exited{PID: 100, Status: ExitStatus{Code: 143}, At: at(10)}},
	{"exit-1", Exited{PID: 100, Status: ExitStatus{Code: 1}, At: at(10)}},
	{"exit-15", Exited{PID: 100, Status: ExitStatus{Code: 15}, At: at(10)}},
	{"exit-sighup", Exited{PID: 100, Status: ExitStatus{Signal: syscall.SIGHUP}, At: at(10)}},
	{"exit-sigterm", Exited{PID: 100, Status: ExitStatus{Signal: syscall.SIGTERM}, At: at(10)}},
	{"exit-unknown", Exited{PID: 100, Status: ExitStatus{Unknown: true}, At: at(10)}},
}

// TestExitCodesTable steps every exit status in every situation where it
// matters, for a service with `exit-codes: [0, 143, SIGHUP]`, with and
// without a cgroup, and compares with testdata/exitcodes.txt. Run with
// -update to rewrite it, then review the diff.
func TestExitCodesTable(t *testing.T) {
	var b strings.Builder
	for _, cg := range []bool{false, true} {
		for _, s := range exitCodesSituations {
			pol := s.policy
			name := s.name
			if cg {
				name += " (cgroup)"
				s.policy = func() services.Policy { p := pol(); p.Cgroup = true; return p }
			}
			fmt.Fprintf(&b, "# %s\n", name)
			for _, p := range exitCodesProbes {
				m := build(t, s)
				out := stepCatchingAct(m, p.ev)
				if e := m.Snapshot().LastExit; e != nil && e.Success {
					out += "  [success]"
				}
				fmt.Fprintf(&b, "%-13s -> %s\n", p.name, out)
			}
			b.WriteString("\n")
		}
	}
	golden := filepath.Join("testdata", "exitcodes.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestExitCodesTable -update ./services/lifecycle)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("exit-codes table changed; run with -update and review the diff.\ngot:\n%s", got)
	}
}

// Without exit-codes, exit code 0 alone is a success: a one-shot that
// exits 143 failed, and respawn: on-failure respawns it.
func TestExitCodesDefaultIsZeroOnly(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	p.OneShot, p.Respawn = true, false
	s := script{t, NewMachine(p, t0)}
	s.step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7)")
	s.step(Exited{PID: 7, Status: ExitStatus{Code: 143}, At: at(1)},
		"rec(exit,7,code=143,ran=1s) starting->failed rec(state,failed,msg=one-shot process exited with code 143) reply(1,failed,reason=one-shot process exited with code 143)")

	p = webPolicy()
	p.Requires = nil
	p.RespawnOnFailure = true
	s = script{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 7, At: at(0)}, "rec(start,7) starting->running rec(state,running)")
	s.step(Exited{PID: 7, Status: ExitStatus{Code: 143}, At: at(1)},
		"rec(exit,7,code=143,ran=1s) running->starting rec(state,starting) rec(respawn) arm(respawn,100ms)")
	s.step(TimerFired{Timer: RespawnTimer, Gen: 1, At: at(2)}, "spawn")
	s.step(Spawned{PID: 8, At: at(2)}, "rec(start,8) starting->running rec(state,running)")
	s.step(Exited{PID: 8, Status: ExitStatus{Code: 0}, At: at(3)}, "rec(exit,8,code=0,ran=1s) running->stopped rec(state,stopped)")
}
