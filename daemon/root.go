package daemon

import (
	"context"
	"encoding/json"
	"os"

	"github.com/shepherd-go/shepherd/actors/registry"

	"github.com/shepherd-go/shepherd/actors/monitor"

	"github.com/shepherd-go/shepherd/actors/historian"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/version"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Version is the daemon's version, shown by `herd status shepherd`: the
// one `shepherd --version` prints (package version).
var Version = version.Get().Version

// ExitKind says how the daemon should end after stopping every service.
type ExitKind string

// Ways to end: plain exit, or as PID 1 a halt, power-off or reboot.
const (
	ExitStop     ExitKind = "stop"
	ExitHalt     ExitKind = "halt"
	ExitPowerOff ExitKind = "power-off"
	ExitReboot   ExitKind = "reboot"
)

// ExitRequested delivers the kind of exit a client asked for (herd stop
// root, herd halt, ...). The command line stops the daemon then, and as
// PID 1 calls reboot(2).
func (d *Daemon) ExitRequested() <-chan ExitKind { return d.exitReq }

// isRoot reports whether a request names the daemon itself.
func isRoot(service string) bool { return service == wire.RootService || service == wire.RootAlias }

// serveRoot answers requests to the root service.
func (a *api) serveRoot(ctx context.Context, req wire.Request, out local.Responder) {
	switch req.Action {
	case "status":
		st, err := a.d.rootStatus(ctx)
		if err != nil {
			return
		}
		out.Send(wire.OKReply(req.ID, st))
	case "stop", "halt", "power-off", "reboot":
		kind := ExitKind(req.Action)
		if kind == "stop" {
			kind = ExitStop
		}
		a.d.record(true, history.Event{Kind: history.KindAction, Service: wire.RootService, Action: req.Action, Result: "accepted"})
		out.Send(wire.OKReply(req.ID, wire.ActionResult{Service: wire.RootService, Outcome: wire.Stopped}))
		select {
		case a.d.exitReq <- kind:
		default: // an exit is already under way
		}
	case "doc":
		out.Send(wire.OKReply(req.ID, wire.Doc{Service: wire.RootService, Documentation: "The shepherd daemon itself: stop, halt, power-off or reboot it."}))
	default:
		out.Send(wire.ErrReply(req.ID, &wire.Error{Kind: wire.ActionNotFound, Service: req.Service, Action: req.Action,
			Message: "service '" + req.Service + "' does not have an action '" + req.Action + "'"}))
	}
}

func (d *Daemon) rootStatus(ctx context.Context) (wire.Status, error) {
	all, err := ask(ctx, d, d.registry, func(ch chan<- wire.Reply) any {
		return &registry.ClientRequest{Req: wire.Request{Action: "status"}, Reply: ch}
	})
	if err != nil {
		return wire.Status{}, err
	}
	var sum wire.StatusAll
	json.Unmarshal(all.Result, &sum)
	byState := map[string]int{}
	for _, s := range sum.Services {
		byState[s.State]++
	}
	stats, err := ask(ctx, d, d.monitor, func(ch chan<- monitor.Counters) any { return &monitor.Stats{Reply: ch} })
	if err != nil {
		return wire.Status{}, err
	}
	health, err := ask(ctx, d, d.historian, func(ch chan<- wire.HistoryHealth) any { return &historian.Health{Reply: ch} })
	if err != nil {
		return wire.Status{}, err
	}
	return wire.Status{
		Name: wire.RootService, Provides: []string{wire.RootAlias}, Requires: []string{},
		Documentation: "The shepherd daemon itself.",
		State:         wire.StateRunning, Since: d.started, Enabled: true, PID: os.Getpid(),
		Command: os.Args,
		Daemon: &wire.DaemonInfo{
			Version: Version, StartedAt: d.started, ConfigPath: d.opts.ConfigPath, Socket: d.opts.SocketPath,
			StateDir: d.opts.StateDir, PID1: os.Getpid() == 1, ByState: byState, OrphansReaped: stats.Orphans,
			Reexecs: d.reexecs, PeerID: d.peerID, Listen: d.listenAddrs(), History: health, Cgroups: d.cgroupMode,
		},
	}, nil
}
