package service

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/internal/activation"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// Saved is a controller's state at rest, as a re-exec hands it over.
type Saved struct {
	Machine     lifecycle.Saved `json:"machine"`
	Spec        *services.Spec  `json:"spec"`
	Replacement *services.Spec  `json:"replacement,omitempty"`
	// PIDFD is the handle on the main process (Machine.PID), a pidfd
	// that the re-exec passes on to the new binary; 0 if none.
	PIDFD int `json:"pidfd,omitempty"`
	// Adopted: when the main process was adopted (ControllerState.adoptedAt).
	Adopted time.Time `json:"adopted,omitzero"`
	// Sockets are the listening sockets of socket activation, and Conns
	// the pidfds of the processes of inetd-style connections by PID: the
	// re-exec passes them on too (InheritFDs).
	Sockets []activation.Saved `json:"sockets,omitempty"`
	Conns   map[int]int        `json:"conns,omitempty"`
}

// Freeze asks a controller for its state at rest. A controller that gives
// it is Frozen: it stashes every message until Thaw (after a failed
// execve), since what it would do could not be handed over.
type Freeze struct{ Reply chan<- Frozen }

type Frozen struct {
	Name  string
	Saved Saved
	Err   error
}

type Thaw struct{}

// Freeze answers a Freeze request: the controller's state if it is at
// rest, which also freezes it.
func (c *controller) freeze(ctx actor.Context, msg *Freeze) {
	st := c.st
	name := st.spec.Name
	busy := func(what string) { msg.Reply <- Frozen{Name: name, Err: fmt.Errorf("service %s %s", name, what)} }
	switch {
	case len(st.actions)+len(st.actionSpawns) > 0:
		busy("is running an action")
		return
	case len(st.hooks)+len(st.hookSpawns)+st.urlHooks > 0:
		busy("is running a hook")
		return
	case len(st.waiters) > 0 || len(st.held) > 0:
		busy("has a request in progress")
		return
	}
	m, err := st.m.Save(st.timerDue)
	if err != nil {
		msg.Reply <- Frozen{Name: name, Err: err}
		return
	}
	saved := Saved{Machine: m, Spec: st.spec, Replacement: st.replacement, Adopted: st.adoptedAt}
	if fd := st.procs[m.PID].FD(); m.PID != 0 && fd > 0 {
		saved.PIDFD = fd
	}
	if err := st.savedActivation(&saved); err != nil {
		msg.Reply <- Frozen{Name: name, Err: err}
		return
	}
	st.frozen = true
	msg.Reply <- Frozen{Name: name, Saved: saved}
}

// stashed keeps a Frozen controller's messages for after a Thaw; it
// reports whether the message was taken.
func (c *controller) stashed(ctx actor.Context) bool {
	st := c.st
	switch ctx.Message().(type) {
	case *actor.Started, *actor.Stopping, *actor.Stopped, *actor.Restarting, *Freeze:
		return false
	case *Request:
		// Questions change nothing: a status during a re-exec is answered.
		if a := ctx.Message().(*Request).Req.Action; a == "status" || a == "doc" {
			return false
		}
	case *Thaw:
		st.frozen = false
		for _, m := range st.stash {
			ctx.Send(ctx.Self(), m)
		}
		st.stash = nil
		return true
	}
	st.stash = append(st.stash, ctx.Message())
	return true
}

// RestoredController builds the state of a controller handed over by a
// re-exec. It must run before the new binary's reaper does: a handover
// from a binary that passed no handle on the main process gets one opened
// by its PID, which only an unreaped child keeps.
func RestoredController(env Env, s Saved, logger *actor.PID, now time.Time) *ControllerState {
	m, effects := lifecycle.Restore(env.policyOf(s.Spec), s.Machine, now)
	cs := newControllerState(env, s.Spec, m, logger)
	cs.restoreEffects = effects
	if pid := s.Machine.PID; pid != 0 {
		h, err := proc.InheritedHandle(s.PIDFD, pid)
		if err != nil {
			if s.PIDFD > 0 {
				env.Logf("service %s: re-exec handover: %v", s.Spec.Name, err)
			}
			h, err = proc.OpenHandle(pid)
		}
		if err != nil {
			env.Logf("service %s: re-exec handover: %v; it cannot be signalled", s.Spec.Name, err)
		}
		cs.procs[pid] = h
		cs.record.Recorded(pid) // the record of before the re-exec stands
		cs.adoptedAt = s.Adopted
	}
	if s.Replacement != nil {
		cs.replacement = s.Replacement
		m.Replace(env.policyOf(s.Replacement))
	}
	cs.restoreActivation(s)
	return cs
}
