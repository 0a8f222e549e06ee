package lifecycle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/services"
)

// orderPolicy is a service that requires net, wants cache, is after db,
// and (by SetConflicts in the setups) conflicts with legacy.
func orderPolicy() services.Policy {
	p := webPolicy()
	p.Wants, p.After = []string{"cache"}, []string{"db"}
	return p
}

func wantsOnlyPolicy() services.Policy {
	p := webPolicy()
	p.Requires, p.Wants = nil, []string{"cache"}
	return p
}

var conflicts = SetConflicts{Names: []string{"legacy"}, At: at(0)}

var orderSituations = []situation{
	{"stopped/order", orderPolicy, []Event{conflicts}},
	{"starting/order", orderPolicy, []Event{conflicts, Start{Waiter: 1, At: at(0)}}},
	{"starting/order-requires-done", orderPolicy, []Event{conflicts, Start{Waiter: 1, At: at(0)},
		PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(1)}}},
	{"starting/order-only-after-left", orderPolicy, []Event{conflicts, Start{Waiter: 1, At: at(0)},
		PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(1)},
		PeerDone{Name: "legacy", Op: PeerStop, Result: Result{Outcome: OutStopped}, At: at(1)}}},
	{"starting/order-spawn", orderPolicy, []Event{conflicts, Start{Waiter: 1, At: at(0)},
		PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(1)},
		PeerDone{Name: "legacy", Op: PeerStop, Result: Result{Outcome: OutStopped}, At: at(1)},
		PeerDone{Name: "db", Op: PeerAwait, Result: Result{Outcome: OutFailed}, At: at(2)}}},
	{"running/order", orderPolicy, []Event{conflicts, Start{Waiter: 1, At: at(0)},
		PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(1)},
		PeerDone{Name: "legacy", Op: PeerStop, Result: Result{Outcome: OutStopped}, At: at(1)},
		PeerDone{Name: "db", Op: PeerAwait, Result: Result{Outcome: OutStarted}, At: at(2)},
		Spawned{PID: 100, At: at(3)}}},
	{"stopped/wants-only", wantsOnlyPolicy, nil},
	// Asked by a service after it: answered when its start ends.
	{"starting/watched", webPolicy, []Event{Start{Waiter: 1, At: at(0)}, AwaitStart{Waiter: 2, At: at(0)}}},
	{"starting/watched-spawn", webPolicy, []Event{Start{Waiter: 1, At: at(0)}, AwaitStart{Waiter: 2, At: at(0)},
		PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(1)}}},
	{"running/plain", webPolicy, []Event{Start{At: at(0)},
		PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)}, Spawned{PID: 100, At: at(1)}}},
	{"starting/respawn-watched", webPolicy, []Event{Start{At: at(0)},
		PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(0)}, Spawned{PID: 100, At: at(1)},
		Exited{PID: 100, Status: ExitStatus{Code: 1}, At: at(2)}, AwaitStart{Waiter: 2, At: at(2)}}},
}

var orderProbes = []struct {
	name string
	ev   Event
}{
	{"start", Start{Waiter: 9, At: at(10)}},
	{"stop", Stop{Waiter: 9, At: at(10)}},
	{"net-started", PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted, Steps: []Step{{"net", OutStarted}}}, At: at(10)}},
	{"net-failed", PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutFailed, Reason: "no route"}, At: at(10)}},
	{"db-await-started", PeerDone{Name: "db", Op: PeerAwait, Result: Result{Outcome: OutStarted}, At: at(10)}},
	{"db-await-failed", PeerDone{Name: "db", Op: PeerAwait, Result: Result{Outcome: OutFailed}, At: at(10)}},
	{"db-started", PeerDone{Name: "db", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(10)}},
	{"legacy-stopped", PeerDone{Name: "legacy", Op: PeerStop, Result: Result{Outcome: OutStopped, Steps: []Step{{"legacy", OutStopped}}}, At: at(10)}},
	{"cache-started", PeerDone{Name: "cache", Op: PeerStart, Result: Result{Outcome: OutStarted}, At: at(10)}},
	{"cache-failed", PeerDone{Name: "cache", Op: PeerStart, Result: Result{Outcome: OutFailed}, At: at(10)}},
	{"await-start", AwaitStart{Waiter: 7, At: at(10)}},
	{"spawned", Spawned{PID: 200, At: at(10)}},
	{"spawn-failed", SpawnFailed{Reason: "exec: no such file", At: at(10)}},
	{"exit-1", Exited{PID: 100, Status: ExitStatus{Code: 1}, At: at(10)}},
	{"respawn-timer", TimerFired{Timer: RespawnTimer, Gen: 1, At: at(10)}},
}

func fmtOrderEffects(effs []Effect) string {
	var parts []string
	for _, e := range effs {
		if a, ok := e.(AwaitPeers); ok {
			parts = append(parts, "await-peers("+strings.Join(a.Names, ",")+")")
			continue
		}
		parts = append(parts, fmtEffects([]Effect{e}))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// TestOrderTable steps every probe in every situation of after, wants and
// conflicts and compares with testdata/order.txt. Run with -update to
// rewrite it, then review the diff.
func TestOrderTable(t *testing.T) {
	var b strings.Builder
	for _, s := range orderSituations {
		fmt.Fprintf(&b, "# %s\n", s.name)
		for _, p := range orderProbes {
			m := build(t, s)
			out := func() (out string) {
				defer func() {
					if r := recover(); r != nil {
						out = "PANIC (impossible transition)"
					}
				}()
				effs := m.Step(p.ev)
				return fmt.Sprintf("%-9v %s", m.State(), fmtOrderEffects(effs))
			}()
			fmt.Fprintf(&b, "%-16s -> %s\n", p.name, out)
		}
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "order.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestOrderTable -update ./services/lifecycle)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("order table changed; run with -update and review the diff.\ngot:\n%s", got)
	}
}

func TestOrderSituations(t *testing.T) {
	for _, s := range orderSituations {
		m := build(t, s)
		if got, want := m.State().String(), strings.SplitN(s.name, "/", 2)[0]; got != want {
			t.Errorf("%s: state %s", s.name, got)
		}
	}
}

// A start stops what it conflicts with, waits for what it is after and
// its requirements together, and starts what it wants without waiting;
// its answer shows the conflicting service stopped.
func TestOrderStartSettlesEverythingFirst(t *testing.T) {
	m := NewMachine(orderPolicy(), t0)
	step := func(ev Event, want string) {
		t.Helper()
		if got := fmtOrderEffects(m.Step(ev)); got != want {
			t.Fatalf("after %T%+v:\n got: %s\nwant: %s", ev, ev, got, want)
		}
	}
	step(conflicts, "-")
	step(Start{Waiter: 1, At: at(0)}, "stopped->starting rec(state,starting) start-peers(net) stop-peers(legacy) start-peers(cache) await-peers(db)")
	step(PeerDone{Name: "cache", Op: PeerStart, Result: Result{Outcome: OutFailed}, At: at(1)}, "-")
	step(PeerDone{Name: "db", Op: PeerAwait, Result: Result{Outcome: OutFailed}, At: at(1)}, "-")
	step(PeerDone{Name: "legacy", Op: PeerStop, Result: Result{Outcome: OutStopped, Steps: []Step{{"legacy", OutStopped}}}, At: at(1)}, "-")
	step(PeerDone{Name: "net", Op: PeerStart, Result: Result{Outcome: OutStarted, Steps: []Step{{"net", OutStarted}}}, At: at(2)}, "spawn")
	step(Spawned{PID: 7, At: at(2)}, "rec(start,7) starting->running rec(state,running) reply(1,started,legacy:stopped,net:started,web:started)")
	// An answer that comes after the start settled is stale.
	step(PeerDone{Name: "db", Op: PeerAwait, Result: Result{Outcome: OutStarted}, At: at(3)}, "-")
}
