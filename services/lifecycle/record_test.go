package lifecycle

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

// derivedRecords is what the controller (actors/controller.go, inputEvents
// and transitionEvents) worked out for history from an event, the PID
// before the step, the effects and the snapshot after it, before the
// machine emitted Records. The machine's Records must say the same, in the
// same order.
func derivedRecords(ev Event, pidBefore int, effs []Effect, snap Snapshot) []Record {
	var out []Record
	switch ev := ev.(type) {
	case Spawned:
		out = append(out, Record{Kind: RecordStart, At: ev.At, PID: ev.PID})
	case Exited:
		if ev.PID == pidBefore {
			r := Record{Kind: RecordExit, At: ev.At, PID: ev.PID}
			switch {
			case ev.Status.Unknown:
				r.Message = "exit status unknown: another process reaped it"
			case ev.Status.Signal != 0:
				r.Signal = services.SignalName(ev.Status.Signal)
			default:
				code := ev.Status.Code
				r.ExitCode = &code
			}
			if snap.LastExit != nil && snap.LastExit.PID == ev.PID {
				r.Runtime = snap.LastExit.Runtime
			}
			out = append(out, r)
		}
	}
	_, exited := ev.(Exited)
	for _, e := range effs {
		t, ok := e.(Transition)
		if !ok {
			continue
		}
		out = append(out, Record{Kind: RecordState, At: t.At, State: t.To.String(), Message: t.Reason})
		switch {
		case exited && t.From == Running && t.To == Starting:
			out = append(out, Record{Kind: RecordRespawn, At: t.At})
		case exited && t.From == Running && t.To == Failed:
			out = append(out, Record{Kind: RecordRespawnLimit, At: t.At, Message: snap.FailReason})
		}
	}
	return out
}

func recordsOf(effs []Effect) []Record {
	var out []Record
	for _, e := range effs {
		if r, ok := e.(Record); ok {
			out = append(out, r)
		}
	}
	return out
}

// checkStep steps m with ev and fails unless the Records emitted are the
// ones the controller derived. It returns them.
func checkStep(t *testing.T, m *Machine, ev Event) []Record {
	t.Helper()
	pidBefore := m.PID()
	effs := m.Step(ev)
	got, want := recordsOf(effs), derivedRecords(ev, pidBefore, effs, m.Snapshot())
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after %T%+v (effects %s):\n got: %s\nwant: %s", ev, ev, fmtEffects(effs), fmtRecords(got), fmtRecords(want))
	}
	return got
}

func fmtRecords(rs []Record) string {
	s := ""
	for _, r := range rs {
		s += fmt.Sprintf("%s@%v ", fmtRecord(r), r.At.Sub(t0))
	}
	return s
}

// TestRecordsAreWhatTheControllerDerived: in every situation of the
// transition table, the machine emits the Records the controller used to
// derive from the states before and after, times and order included.
func TestRecordsAreWhatTheControllerDerived(t *testing.T) {
	for _, s := range situations {
		for _, p := range probes {
			t.Run(s.name+"/"+p.name, func(t *testing.T) {
				m := NewMachine(s.policy(), t0)
				for _, ev := range s.setup {
					checkStep(t, m, ev)
				}
				func() {
					defer func() { recover() }() // the PANIC rows
					checkStep(t, m, p.ev)
				}()
			})
		}
	}
}

// TestRecordsOnRandomWalks drives machines of several policies with long
// random sequences of possible events and compares the Records with the
// controller's derivation after every step.
func TestRecordsOnRandomWalks(t *testing.T) {
	policies := map[string]func() services.Policy{
		"requires": webPolicy,
		"plain": func() services.Policy {
			p := webPolicy()
			p.Requires = nil
			p.RespawnLimit = services.RespawnLimit{Count: 1, Window: time.Minute}
			p.RespawnCooldown = 30 * time.Second
			return p
		},
		"backoff": func() services.Policy {
			p := webPolicy()
			p.RespawnLimit = services.RespawnLimit{Unlimited: true}
			p.RespawnBackoff, p.RespawnMaxDelay = true, 2*time.Second
			return p
		},
		"one-shot": func() services.Policy { p := webPolicy(); p.OneShot, p.Respawn = true, false; return p },
		"pid-file": func() services.Policy {
			p := webPolicy()
			p.PIDFile, p.PIDFileTimeout = true, 5*time.Second
			p.RespawnLimit = services.RespawnLimit{Count: 1, Window: time.Minute}
			return p
		},
		"milestone": func() services.Policy {
			return services.Policy{Name: "net", Requires: []string{"net"}, StopSignal: syscall.SIGTERM}
		},
	}
	seen := map[RecordKind]int{}
	for name, policy := range policies {
		for seed := uint64(1); seed <= 20; seed++ {
			t.Run(fmt.Sprintf("%s/%d", name, seed), func(t *testing.T) {
				w := walker{m: NewMachine(policy(), t0), rnd: rand.New(rand.NewPCG(seed, 15)), now: t0, nextPID: 100}
				for range 500 {
					for _, r := range checkStep(t, w.m, w.next()) {
						seen[r.Kind]++
					}
				}
			})
		}
	}
	// The walks must reach every kind, or they prove little.
	for k := RecordState; k <= RecordRespawnLimit; k++ {
		if seen[k] == 0 {
			t.Errorf("no walk emitted a %v record: %v", k, seen)
		}
	}
}

// walker picks events a runtime could send the machine in its current
// state, and some it should ignore (stale exits and timers, unasked
// answers).
type walker struct {
	m       *Machine
	rnd     *rand.Rand
	now     time.Time
	nextPID int
	pids    []int // every PID handed out, for stale exits
}

func (w *walker) next() Event {
	w.now = w.now.Add(time.Duration(w.rnd.IntN(3000)) * time.Millisecond)
	m, at := w.m, w.now
	if m.state == Starting && m.phase == awaitSpawn && w.rnd.IntN(4) > 0 {
		if w.rnd.IntN(6) == 0 {
			return SpawnFailed{Reason: "fork/exec /x: no such file or directory", At: at}
		}
		w.nextPID++
		w.pids = append(w.pids, w.nextPID)
		return Spawned{PID: w.nextPID, At: at}
	}
	status := []ExitStatus{{Code: 0}, {Code: 1}, {Signal: syscall.SIGKILL}, {Unknown: true}}[w.rnd.IntN(4)]
	outcome := []Outcome{OutStarted, OutAlreadyRunning, OutFailed, OutStopped, OutNotRunning}[w.rnd.IntN(5)]
	switch w.rnd.IntN(14) {
	case 0:
		return Start{Waiter: Waiter(w.rnd.IntN(3)), At: at}
	case 1:
		return Stop{Waiter: Waiter(w.rnd.IntN(3)), At: at}
	case 2:
		return Restart{Waiter: Waiter(w.rnd.IntN(3)), At: at}
	case 3:
		return Enable{At: at}
	case 4:
		return Disable{At: at}
	case 5:
		return SetDependents{Names: [][]string{nil, {"app"}, {"app", "cron"}}[w.rnd.IntN(3)], At: at}
	case 6, 7:
		names := slices.Sorted(func(yield func(string) bool) {
			for n := range m.pending {
				if !yield(n) {
					return
				}
			}
		})
		name := "net"
		if len(names) > 0 {
			name = names[w.rnd.IntN(len(names))]
		}
		return PeerDone{Name: name, Op: m.pendingOp, Result: Result{Outcome: outcome}, At: at}
	case 8, 9:
		if m.pid != 0 {
			return Exited{PID: m.pid, Status: status, At: at}
		}
		if m.launcher != 0 {
			return Exited{PID: m.launcher, Status: status, At: at}
		}
		fallthrough
	case 10:
		if len(w.pids) == 0 {
			return Exited{PID: 42, Status: status, At: at}
		}
		return Exited{PID: w.pids[w.rnd.IntN(len(w.pids))], Status: status, At: at}
	case 11, 12:
		k := TimerKind(w.rnd.IntN(NumTimers))
		gen := m.gens[k]
		if w.rnd.IntN(5) == 0 {
			gen-- // a superseded timer
		}
		return TimerFired{Timer: k, Gen: gen, At: at}
	default:
		if w.rnd.IntN(3) == 0 {
			return PIDFileRefused{Reason: "pid file /x.pid is a FIFO, not a regular file", At: at}
		}
		w.nextPID++
		w.pids = append(w.pids, w.nextPID)
		return PIDFileFound{PID: w.nextPID, At: at}
	}
}

// TestRecordKindsAreHistoryKinds pins the names the history stores.
func TestRecordKindsAreHistoryKinds(t *testing.T) {
	for k, want := range map[RecordKind]string{
		RecordState: "state", RecordStart: "start", RecordExit: "exit",
		RecordRespawn: "respawn", RecordRespawnLimit: "respawn-limit",
	} {
		if k.String() != want {
			t.Errorf("%d: %q, want %q", int(k), k.String(), want)
		}
	}
}
