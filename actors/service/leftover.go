package service

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/leftover"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// procRecords returns the record (leftover.Tracker) to write if the
// process to track changed: the main one, or a PID file's launcher while
// it is awaited. After a crash of the daemon, the next one adopts or stops
// that process by it, rather than start a second copy beside it.
func (st *ControllerState) procRecords() []history.Record {
	pid, launcher := st.m.PID(), false
	for p := range st.procs {
		if pid == 0 && st.spec.PIDFile != "" && st.m.State() == lifecycle.Starting {
			pid, launcher = p, true
		}
	}
	h := st.procs[pid]
	return st.record.Update(st.spec, uint32(st.env.UID), pid, launcher, func() error { return h.Signal(0) }, st.m.Snapshot().Since)
}

// AdoptedController is the state of a controller whose service runs on
// with a, a process that a daemon which ended without stopping it left:
// running, watched through its pidfd (it is not our child: see
// monitor.Adopt), its output not captured until its next start. d is its
// kept intent: disabled while it ran (nil: enabled).
func AdoptedController(env Env, s *services.Spec, a leftover.Adoption, d *lifecycle.Disabled, logger *actor.PID) *ControllerState {
	cs, now := NewController(env, s, logger), time.Now()
	saved := lifecycle.Saved{State: lifecycle.Running, Since: a.StartedAt, Enabled: d == nil, PID: a.PID, StartedAt: a.StartedAt}
	if d != nil {
		saved.Disabled = *d
	}
	// NewController's policy (with the daemon's cgroups, if any).
	cs.m, _ = lifecycle.Restore(cs.m.Policy(), saved, now)
	adoption := proc.Adoption{PID: a.PID, PIDFD: a.PIDFD}
	h, err := adoption.Handle()
	if err != nil {
		env.Logf("service %s: adopted process %d cannot be signalled: %v", s.Name, a.PID, err)
	}
	cs.procs[a.PID], cs.adoptedAt, cs.adoption = h, now, &adoption
	cs.record.Recorded(a.PID) // as the previous daemon wrote it
	return cs
}
