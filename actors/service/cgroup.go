package service

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/internal/cgroup"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// Each service (each instance) runs in a cgroup of its own when the
// daemon has cgroups (Env.Cgroups): `<root>/<name>.service`, derived
// from the name alone, so that a re-exec or a restart of the daemon
// finds it again. The machine decides when to kill it (KillCgroup); the
// controller kills it in a goroutine and steps CgroupEmpty once it is
// empty, or once lifecycle.CgroupWait has passed.
//
// What runs there: the service's processes, entered at fork, and its
// custom actions, as systemd runs ExecReload= in the service's cgroup
// (an action acts on the service, under its limits, and does not
// outlive it). Hooks (on-exit, on-failure, ...) do not: they report on
// the service, often right when its cgroup is being killed for a
// respawn, and run in the daemon's own cgroup.

// policyOf is the machine's policy for spec s: with a cgroup when the
// daemon has them and s runs processes of its own.
func (env Env) policyOf(s *services.Spec) services.Policy {
	p := services.PolicyOf(s)
	p.Cgroup = env.Cgroups != nil && len(s.Command) > 0 && s.Remote == ""
	return p
}

// cgroupEmptied carries a KillCgroup's outcome back to the controller.
type cgroupEmptied struct {
	gen  uint64
	left int
	err  error
	at   time.Time
}

// place makes the service's cgroup with its spec's limits, and says
// where a spawn goes: sp.Cgroup (entered at fork) and, on a hybrid
// system, the cgroup v1 mirrors that the trampoline enters.
func (st *ControllerState) place(sp *monitor.Spawn) error {
	if st.env.Cgroups == nil {
		return nil
	}
	p, err := st.env.Cgroups.Create(st.spec.Name, &st.spec.Cgroup)
	if err != nil {
		return err
	}
	sp.Cgroup = p.Dir
	if len(p.V1) > 0 {
		if sp.Settings == nil {
			sp.Settings = &proc.Settings{}
		}
		sp.Settings.Cgroups = p.V1
	}
	return nil
}

// killCgroup performs a KillCgroup effect.
func (c *controller) killCgroup(ctx actor.Context, e lifecycle.KillCgroup) {
	st := c.st
	// The goroutine reads nothing of st, which the actor may change.
	name, tree, env := st.spec.Name, st.env.Cgroups, st.env
	dir := tree.Dir(name)
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	env.Go(func() {
		msg := &cgroupEmptied{gen: e.Gen}
		defer func() { msg.at = time.Now(); send(self, msg) }()
		killed, err := cgroup.Kill(dir)
		if err != nil {
			env.Logf("service %s: %v", name, err)
		}
		if !killed {
			return // empty already: nothing to wait for, nothing to renew
		}
		wctx, cancel := env.Context(lifecycle.CgroupWait)
		defer cancel()
		_, msg.err = cgroup.WaitEmpty(wctx, dir)
		var ne *cgroup.NotEmptyError
		switch {
		case errors.As(msg.err, &ne):
			msg.left = max(len(ne.PIDs), 1)
		case msg.err != nil:
			msg.left = 1
		default:
			// The next spawn must not go into a killed cgroup
			// (cgroup.Renew says why).
			if err := tree.Renew(name); err != nil {
				env.Logf("service %s: %v", name, err)
			}
		}
	})
}

func (c *controller) onCgroupEmptied(ctx actor.Context, msg *cgroupEmptied) {
	st := c.st
	ev := lifecycle.CgroupEmpty{Gen: msg.gen, Left: msg.left, At: msg.at}
	if msg.err != nil {
		ev.Issue = msg.err.Error()
		st.env.Logf("service %s: %v", st.spec.Name, msg.err)
	}
	c.step(ctx, ev)
}

// cgroupStatus describes the service's cgroup for `herd status NAME`.
func (st *ControllerState) cgroupStatus() *wire.CgroupInfo {
	t := st.env.Cgroups
	if t == nil || len(st.spec.Command) == 0 || st.spec.Remote != "" {
		return nil
	}
	info := &wire.CgroupInfo{Path: t.Dir(st.spec.Name)}
	if s, err := t.Read(st.spec.Name); err == nil {
		info.Tasks, info.CPU = s.Tasks, wire.Duration(s.CPU)
		if s.MemoryKnown {
			m := s.Memory
			info.Memory = &m
		}
	}
	l := st.spec.Cgroup
	info.PidsMax, info.MemoryMax = l.PidsMax, l.MemoryMax
	return info
}

// removeCgroup removes the cgroup of a service that is gone (unloaded,
// scaled down, dropped by a reload) or of a daemon that stops, if it is
// empty: a service that runs on (a re-exec) keeps its own.
func (st *ControllerState) removeCgroup() {
	t := st.env.Cgroups
	if t == nil || st.m.State() == lifecycle.Running || st.m.State() == lifecycle.Starting {
		return
	}
	if busy, err := cgroup.Populated(t.Dir(st.spec.Name)); err != nil || busy {
		return
	}
	if err := t.Remove(st.spec.Name); err != nil {
		st.env.Logf("service %s: %v", st.spec.Name, err)
	}
}
