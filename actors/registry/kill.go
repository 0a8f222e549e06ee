package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/cgroup"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"golang.org/x/sys/unix"
)

// signalled is what a signal to a main process did.
type signalled struct {
	pid int
	err error
}

// kill serves `herd kill NAME -s SIG [--kill-whom main|all]` (docs/herd.md)
// as systemctl kill does. Every signal goes through a pidfd, never to a
// number the daemon does not own: to every process of the service, the
// processes of its cgroup (cgroup.Signal says how), or without cgroups
// its main process's group; or to the main process alone (--kill-whom
// main). Both last go through the controller, which holds the main
// process's handle (service.ControllerState.MainProcess). A service with instances signals
// each; a remote service's exporter signals its own. The lifecycle is
// not told: a process the signal ends exits as any other, and is
// respawned as its policy says.
func (r *registry) kill(ctx actor.Context, name string, msg *ClientRequest) {
	st, req := r.st, msg.Req
	sig, whom, err := services.ParseKillArgs(req.Args)
	if err != nil {
		msg.Reply <- wire.ErrReply(req.ID, &wire.Error{Kind: wire.BadRequest, Service: name, Action: "kill", Message: fmt.Sprintf("service %s: %v", name, err)})
		return
	}
	if st.specs[name].Remote != "" {
		ctx.Send(service.ControllerPID(ctx.Self(), name), &service.Request{Req: req, Who: msg.Who, Reply: msg.Reply})
		return
	}
	targets := []string{name}
	if is, ok := st.instancesOf[name]; ok {
		targets = slices.Clone(is)
	}
	env, self, state := st.env.Service, ctx.Self(), st.summaries[name].State
	// The cgroup of each target whose processes all go by it.
	dirs := make([]string, len(targets))
	for i, t := range targets {
		if whom == services.KillAll && env.Cgroups != nil && len(st.specs[t].Command) > 0 {
			dirs[i] = env.Cgroups.Dir(t)
		}
	}
	env.Go(func() {
		var pids []int
		var failed error
		for i, t := range targets {
			if dirs[i] != "" {
				p, err := cgroup.Signal(dirs[i], sig)
				pids, failed = append(pids, p...), errors.Join(failed, err)
				continue
			}
			// The controller holds the handle: the signal goes from
			// inside it, where the handle cannot be closed meanwhile.
			ch := make(chan signalled, 1)
			env.Send(service.ControllerPID(self, t), &service.Probe{F: func(st *service.ControllerState) {
				h := st.MainProcess()
				send := h.Signal
				if whom == services.KillAll {
					send = h.SignalGroup
				}
				ch <- signalled{h.PID(), send(sig)}
			}})
			res, err := awaitReply(env, ch)
			switch {
			case err != nil:
				failed = errors.Join(failed, fmt.Errorf("%s: %w", t, err))
			case res.err == nil:
				pids = append(pids, res.pid)
			case !errors.Is(res.err, unix.ESRCH): // ESRCH: no main process
				failed = errors.Join(failed, res.err)
			}
		}
		signal := services.SignalName(sig)
		rep := wire.OKReply(req.ID, wire.KillResult{Service: name, Signal: signal, Whom: whom, PIDs: pids})
		result := signal + " to " + strings.Trim(fmt.Sprint(pids), "[]")
		if len(pids) == 0 {
			what := map[string]string{services.KillMain: "main process"}[whom]
			if what == "" {
				what = "process"
			}
			m := fmt.Sprintf("service %s has no %s to signal: it is %s (herd start %s)", name, what, state, name)
			if failed != nil {
				m = fmt.Sprintf("service %s: %s: %v", name, signal, failed)
			}
			rep, result = wire.ErrReply(req.ID, &wire.Error{Kind: wire.BadRequest, Service: name, Action: "kill", Message: m}), string(wire.BadRequest)
		} else if failed != nil {
			env.Logf("service %s: %s: %v", name, signal, failed)
		}
		env.Send(env.Historian, &historian.Record{Events: []history.Event{{Service: name, Kind: history.KindAction, Who: msg.Who, Action: "kill", Result: result}}})
		msg.Reply <- rep
	})
}
