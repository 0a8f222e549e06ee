package lifecycle

import (
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

func limitPolicy(cooldown time.Duration) services.Policy {
	p := webPolicy()
	p.Requires = nil
	p.RespawnLimit = services.RespawnLimit{Count: 0, Window: time.Minute}
	p.RespawnCooldown = cooldown
	return p
}

// TestIntentChanges: the machine says when its intent changes, and only
// then: a second disable keeps the first one's time and who; the user's
// disable replaces the respawn limit's and cancels its cooldown.
func TestIntentChanges(t *testing.T) {
	s := script{t, NewMachine(limitPolicy(5*time.Minute), t0)}
	s.step(Enable{Waiter: 1, At: at(0)}, "reply(1,enabled)")
	s.step(Disable{Waiter: 2, At: at(1), Who: "uid 1000"}, "intent(disabled,herd-disable) reply(2,disabled)")
	s.step(Disable{Waiter: 3, At: at(2), Who: "uid 0"}, "reply(3,disabled)")
	if d := s.m.Snapshot().Disabled; d != (Disabled{At: at(1), Cause: CauseUser, Who: "uid 1000"}) {
		t.Fatalf("disabled %+v", d)
	}
	s.step(Enable{Waiter: 4, At: at(3)}, "intent(enabled) reply(4,enabled)")
	if d := s.m.Snapshot().Disabled; d != (Disabled{}) {
		t.Fatalf("enabled, yet disabled %+v", d)
	}

	// The respawn limit disables, saying why.
	s.step(Start{At: at(4)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 1, At: at(4)}, "rec(start,1) starting->running rec(state,running)")
	s.step(Exited{PID: 1, At: at(5)}, "rec(exit,1,code=0,ran=1s) running->failed rec(state,failed,msg=respawn limit hit: 0 respawns within 1m0s) rec(respawn-limit,msg=respawn limit hit: 0 respawns within 1m0s) intent(disabled,respawn-limit) arm(cooldown,5m0s)")
	want := Disabled{At: at(5), Cause: CauseRespawnLimit, Reason: "respawn limit hit: 0 respawns within 1m0s"}
	if d := s.m.Snapshot().Disabled; d != want {
		t.Fatalf("disabled %+v, want %+v", d, want)
	}
	// A stop does not enable it: it stays disabled, for the same reason.
	cooldown := s.m.gens[CooldownTimer]
	s.step(Stop{Waiter: 5, At: at(6)}, "failed->stopped rec(state,stopped) reply(5,not-running)")
	s.step(TimerFired{Timer: CooldownTimer, Gen: cooldown, At: at(305)}, "-")
	if d := s.m.Snapshot().Disabled; d != want {
		t.Fatalf("after a stop: disabled %+v, want %+v", d, want)
	}
	// The user's disable takes over from the respawn limit's.
	s.step(Disable{Waiter: 6, At: at(7), Who: "uid 0"}, "intent(disabled,herd-disable) reply(6,disabled)")
	s.step(Enable{Waiter: 7, At: at(8)}, "intent(enabled) reply(7,enabled)")
}

// TestDisableDuringCooldownWins: `herd disable` while a service waits
// for its cooldown means it: the cooldown no longer starts it.
func TestDisableDuringCooldownWins(t *testing.T) {
	s := script{t, NewMachine(limitPolicy(5*time.Minute), t0)}
	s.step(Start{At: at(0)}, "stopped->starting rec(state,starting) spawn")
	s.step(Spawned{PID: 1, At: at(0)}, "rec(start,1) starting->running rec(state,running)")
	s.step(Exited{PID: 1, At: at(1)}, "rec(exit,1,code=0,ran=1s) running->failed rec(state,failed,msg=respawn limit hit: 0 respawns within 1m0s) rec(respawn-limit,msg=respawn limit hit: 0 respawns within 1m0s) intent(disabled,respawn-limit) arm(cooldown,5m0s)")
	cooldown := s.m.gens[CooldownTimer]
	s.step(Disable{Waiter: 1, At: at(2), Who: "uid 0"}, "intent(disabled,herd-disable) reply(1,disabled)")
	s.step(TimerFired{Timer: CooldownTimer, Gen: cooldown, At: at(301)}, "-")
	if snap := s.m.Snapshot(); snap.Enabled || snap.State != Failed {
		t.Fatalf("after the cooldown: %v, enabled %v", snap.State, snap.Enabled)
	}
}

// TestBoot: a machine built from a kept intent at a daemon's start.
func TestBoot(t *testing.T) {
	limit := &Disabled{At: at(0), Cause: CauseRespawnLimit, Reason: "respawn limit hit: 5 respawns within 7s"}
	for _, tc := range []struct {
		name     string
		policy   services.Policy
		disabled *Disabled
		now      time.Time
		// effects of Boot, the snapshot's state and whether enabled,
		// then the answer to a start.
		effects, state string
		enabled        bool
		start          string
	}{
		{name: "enabled", policy: limitPolicy(0), now: at(10),
			effects: "-", state: "stopped", enabled: true, start: "stopped->starting rec(state,starting) spawn"},
		{name: "herd disable", policy: limitPolicy(0), disabled: &Disabled{At: at(0), Cause: CauseUser, Who: "uid 0"}, now: at(10),
			effects: "-", state: "stopped", start: "reply(1,failed,refused)"},
		{name: "why not known", policy: limitPolicy(0), disabled: &Disabled{}, now: at(10),
			effects: "-", state: "stopped", start: "reply(1,failed,refused)"},
		{name: "respawn limit", policy: limitPolicy(0), disabled: limit, now: at(10),
			effects: "-", state: "failed", start: "reply(1,failed,refused)"},
		{name: "respawn limit, cooldown left", policy: limitPolicy(time.Minute), disabled: limit, now: at(10),
			effects: "arm(cooldown,50s)", state: "failed", start: "reply(1,failed,refused)"},
		{name: "respawn limit, cooldown over", policy: limitPolicy(time.Minute), disabled: limit, now: at(100),
			effects: "arm(cooldown,0s)", state: "failed", start: "reply(1,failed,refused)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, effs := Boot(tc.policy, tc.disabled, tc.now)
			if got := fmtEffects(effs); got != tc.effects {
				t.Errorf("effects %s, want %s", got, tc.effects)
			}
			snap := m.Snapshot()
			if snap.State.String() != tc.state || snap.Enabled != tc.enabled {
				t.Errorf("%v, enabled %v; want %s, enabled %v", snap.State, snap.Enabled, tc.state, tc.enabled)
			}
			if tc.disabled != nil && snap.Disabled != *tc.disabled {
				t.Errorf("disabled %+v, want %+v", snap.Disabled, *tc.disabled)
			}
			if tc.disabled != nil && tc.disabled.Cause == CauseRespawnLimit && (!snap.Failing || snap.FailReason != limit.Reason || !snap.FailedAt.Equal(limit.At)) {
				t.Errorf("failing %v at %v: %q", snap.Failing, snap.FailedAt, snap.FailReason)
			}
			if got := fmtEffects(m.Step(Start{Waiter: 1, At: tc.now})); got != tc.start {
				t.Errorf("start: %s, want %s", got, tc.start)
			}
		})
	}
	// The cooldown, once over, enables it and starts it.
	m, effs := Boot(limitPolicy(time.Minute), limit, at(100))
	tf := effs[0].(ArmTimer)
	s := script{t, m}
	s.step(TimerFired{Timer: tf.Timer, Gen: tf.Gen, At: at(100)}, "intent(enabled) failed->starting rec(state,starting) spawn")
}

// TestRefusalSaysWhyAndWhatToDo: a start of a disabled service is
// answered with why it is disabled and the command that enables it.
func TestRefusalSaysWhyAndWhatToDo(t *testing.T) {
	reason := func(m *Machine) string {
		for _, e := range m.Step(Start{Waiter: 1, At: at(20)}) {
			if r, ok := e.(Reply); ok && r.Result.Refused {
				return r.Result.Reason
			}
		}
		return "(not refused)"
	}
	m := NewMachine(limitPolicy(0), t0)
	m.Step(Disable{At: at(1), Who: "uid 1000"})
	if got, want := reason(m), "it was disabled with herd disable (uid 1000); run `herd enable web` to start it again"; got != want {
		t.Errorf("herd disable: %q, want %q", got, want)
	}
	m, _ = Boot(limitPolicy(0), &Disabled{At: at(0), Cause: CauseRespawnLimit, Reason: "respawn limit hit: 1 respawn within 1m0s"}, at(10))
	if got, want := reason(m), "respawn limit hit: 1 respawn within 1m0s; run `herd enable web` to start it again"; got != want {
		t.Errorf("respawn limit: %q, want %q", got, want)
	}
	m, _ = Restore(limitPolicy(0), Saved{State: Stopped}, at(10)) // an older daemon's handover
	if got, want := reason(m), "it is disabled; run `herd enable web` to start it again"; got != want {
		t.Errorf("not known why: %q, want %q", got, want)
	}
}
