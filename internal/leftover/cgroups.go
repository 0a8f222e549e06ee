package leftover

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/shepherd-go/shepherd/internal/cgroup"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// WithCgroups fills in's cgroup fields from t, the daemon's root cgroup
// (nil: none): the previous run's service cgroups (cgroup.Previous),
// membership read from /proc/PID/cgroup, and killing and emptying a
// service's cgroup. A killed cgroup is made anew once empty (removed: the
// next spawn creates it), as is every cgroup the previous run left empty,
// since a process cloned into a cgroup whose cgroup.kill was written is
// killed at once (see cgroup.Tree.Renew) and a daemon that died between
// the kill and the renewal left such a cgroup behind. life bounds the
// waits.
func (in *Inputs) WithCgroups(t *cgroup.Tree, life context.Context) {
	if t == nil {
		return
	}
	prev, err := cgroup.Previous(t.Root)
	if err != nil {
		in.Logf("cgroups: the previous run's cannot be listed: %v", err)
		return
	}
	for name, pids := range prev {
		if len(pids) == 0 {
			if err := t.Renew(name); err != nil && !errors.Is(err, context.Canceled) {
				in.Logf("service %s: %v", name, err)
			}
		}
	}
	in.Cgroups = prev
	in.InCgroup = func(name string, pid int) bool {
		m, err := cgroup.ReadMembership(pid)
		rel, rerr := filepath.Rel(t.Mount, t.Dir(name))
		return err == nil && rerr == nil && m.V2 == "/"+rel
	}
	killed := map[string]bool{}
	in.KillCgroup = func(name string) {
		k, err := cgroup.Kill(t.Dir(name))
		if err != nil {
			in.Logf("service %s: %v", name, err)
		}
		killed[name] = killed[name] || k
	}
	in.EmptyCgroup = func(name string) {
		in.KillCgroup(name)
		if !killed[name] {
			return
		}
		ctx, cancel := context.WithTimeout(life, lifecycle.CgroupWait)
		defer cancel()
		if _, err := cgroup.WaitEmpty(ctx, t.Dir(name)); err != nil {
			in.Logf("service %s: %v", name, err)
			return
		}
		if err := t.Renew(name); err != nil {
			in.Logf("service %s: %v", name, err)
		}
	}
}
