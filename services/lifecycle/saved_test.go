package lifecycle

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

// TestSaveRestoreBehavesTheSame saves every situation at rest, sends it
// through JSON as a re-exec does, and checks that the restored machine
// answers every probe exactly as the original would.
func TestSaveRestoreBehavesTheSame(t *testing.T) {
	busy := map[string]bool{
		"starting/requires": true, "starting/spawn": true, "starting/one-shot": true,
		"stopping/dependents": true, "stopping/exit": true, "stopping/killed": true, "starting/pid-file": true,
	}
	for _, s := range situations {
		t.Run(s.name, func(t *testing.T) {
			saved, err := build(t, s).Save([NumTimers]time.Time{RespawnTimer: at(5), CooldownTimer: at(5)})
			var be *BusyError
			if busy[s.name] {
				if !errors.As(err, &be) {
					t.Fatalf("Save = %v, want a BusyError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Save: %v", err)
			}
			b, err := json.Marshal(saved)
			if err != nil {
				t.Fatal(err)
			}
			var back Saved
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			for _, p := range probes {
				orig := build(t, s)
				restored, _ := Restore(s.policy(), back, at(3))
				ev1, ev2 := p.ev, p.ev
				// Each machine numbers its own timers.
				if tf, ok := p.ev.(TimerFired); ok && tf.Gen != 99 {
					ev1 = TimerFired{Timer: tf.Timer, Gen: orig.gens[tf.Timer], At: tf.At}
					ev2 = TimerFired{Timer: tf.Timer, Gen: restored.gens[tf.Timer], At: tf.At}
				}
				if got, want := stepCatching(restored, ev2), stepCatching(orig, ev1); got != want {
					t.Errorf("%s: restored %q, original %q", p.name, got, want)
				}
				if got, want := restored.Snapshot(), orig.Snapshot(); !sameSnapshot(got, want) {
					t.Errorf("%s: restored snapshot %+v, original %+v", p.name, got, want)
				}
			}
		})
	}
}

func sameSnapshot(a, b Snapshot) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestRestoreRearmsWhatIsLeftOfTheTimer: a crash-looping service keeps its
// respawn delay and its respawn budget across a re-exec.
func TestRestoreRearmsWhatIsLeftOfTheTimer(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	p.RespawnLimit = services.RespawnLimit{Count: 2, Window: time.Minute}
	p.RespawnDelay = time.Second
	s := script{t, NewMachine(p, t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 1, At: at(0)}, "rec(start,1) starting->running rec(state,running)")
	s.step(Exited{PID: 1, Status: ExitStatus{Code: 1}, At: at(1)}, "rec(exit,1,code=1,ran=1s) running->starting rec(state,starting) rec(respawn) arm(respawn,1s)")

	saved, err := s.m.Save([NumTimers]time.Time{RespawnTimer: at(2)})
	if err != nil {
		t.Fatal(err)
	}
	m, effs := Restore(p, saved, at(1.25))
	if got := fmtEffects(effs); got != "arm(respawn,750ms)" {
		t.Errorf("restore effects %q, want arm(respawn,750ms)", got)
	}
	r := script{t, m}
	r.step(TimerFired{Timer: RespawnTimer, Gen: m.gens[RespawnTimer], At: at(2)}, "spawn")
	r.step(Spawned{PID: 2, At: at(2)}, "rec(start,2) starting->running rec(state,running)")
	r.step(Exited{PID: 2, Status: ExitStatus{Code: 1}, At: at(3)}, "rec(exit,2,code=1,ran=1s) running->starting rec(state,starting) rec(respawn) arm(respawn,1s)")
	r.step(TimerFired{Timer: RespawnTimer, Gen: m.gens[RespawnTimer], At: at(4)}, "spawn")
	r.step(Spawned{PID: 3, At: at(4)}, "rec(start,3) starting->running rec(state,running)")
	// The respawn before the re-exec counts: this is the third in a minute.
	r.step(Exited{PID: 3, Status: ExitStatus{Code: 1}, At: at(5)}, "rec(exit,3,code=1,ran=1s) running->failed rec(state,failed,msg=respawn limit hit: 2 respawns within 1m0s) rec(respawn-limit,msg=respawn limit hit: 2 respawns within 1m0s) intent(disabled,respawn-limit)")
	if snap := m.Snapshot(); snap.RespawnCount != 2 || snap.Enabled {
		t.Errorf("after the limit: %+v", snap)
	}

	// A timer already due fires at once.
	if _, effs := Restore(p, saved, at(10)); fmtEffects(effs) != "arm(respawn,0s)" {
		t.Errorf("late restore effects %q", fmtEffects(effs))
	}
}

func TestSaveRefusesWhileSomeoneWaits(t *testing.T) {
	p := webPolicy()
	p.Requires = nil
	m := NewMachine(p, t0)
	m.Step(Start{At: at(0)})
	m.Step(Spawned{PID: 1, At: at(0)})
	m.Step(Exited{PID: 1, Status: ExitStatus{Code: 1}, At: at(1)})
	m.Step(Start{Waiter: 7, At: at(1)}) // waits for the respawn
	var be *BusyError
	if _, err := m.Save([NumTimers]time.Time{}); !errors.As(err, &be) || be.Service != "web" || be.Error() != "service web is starting" {
		t.Errorf("Save = %v, want service web is starting", err)
	}
}
