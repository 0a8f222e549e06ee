package adoption

import (
	"testing"

	"github.com/shepherd-go/shepherd/services"
)

func TestDecide(t *testing.T) {
	cmd := []string{"sleep", "3600"}
	plain := &services.Spec{Name: "web", Command: cmd}
	alive := Leftover{Command: cmd, UID: 1000, MainAlive: true, Procs: 2}
	with := func(f func(*services.Spec)) *services.Spec {
		c := *plain
		f(&c)
		return &c
	}
	left := func(f func(*Leftover)) Leftover {
		l := alive
		f(&l)
		return l
	}
	for _, tc := range []struct {
		name   string
		l      Leftover
		s      *services.Spec
		uid    uint32
		action Action
		reason string
	}{
		{"nothing left", Leftover{Command: cmd}, plain, 1000, None, ""},
		{"nothing left of a removed service", Leftover{}, nil, 1000, None, ""},
		{"same process, command and user", alive, plain, 1000, Adopt, "its main process still runs"},
		{"removed from the configuration", alive, nil, 1000, Stop, "it is no longer defined"},
		{"now a group", alive, with(func(s *services.Spec) { s.Instances = 2 }), 1000, Stop, "it is now a group of instances"},
		{"now remote", alive, with(func(s *services.Spec) { s.Remote = "ocapn://x"; s.Command = nil }), 1000, Stop, "it is now a remote service"},
		{"now a milestone", alive, with(func(s *services.Spec) { s.Command = nil }), 1000, Stop, "it no longer has a command"},
		{"a one-shot", alive, with(func(s *services.Spec) { s.OneShot = true }), 1000, Stop, "the run of a one-shot service cannot be taken over"},
		{"found by a cgroup alone", Leftover{Unrecorded: true, Procs: 3}, plain, 1000, Stop, "no record says which of them is its main process"},
		{"leftovers: stop", alive, with(func(s *services.Spec) { s.StopLeftovers = true }), 1000, Stop, "its definition says leftovers: stop"},
		{"main gone, group left", left(func(l *Leftover) { l.MainAlive = false }), plain, 1000, Stop, "its main process is gone"},
		{"launcher of a PID file", left(func(l *Leftover) { l.Launcher = true }), with(func(s *services.Spec) { s.PIDFile = "/run/x.pid" }), 1000, Stop, "it was still starting: its PID file named no process yet"},
		{"command changed", alive, with(func(s *services.Spec) { s.Command = []string{"sleep", "60"} }), 1000, Stop, "its command changed"},
		{"user changed", alive, plain, 0, Stop, "its user changed (uid 1000, now 0)"},
	} {
		d := Decide(tc.l, tc.s, tc.uid)
		if d.Action != tc.action || d.Reason != tc.reason {
			t.Errorf("%s: %v %q, want %v %q", tc.name, d.Action, d.Reason, tc.action, tc.reason)
		}
	}
}
