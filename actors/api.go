package actors

import (
	"context"
	"slices"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// api serves control-socket requests by handing them to the actors.
type api struct{ d *Daemon }

var _ local.Handler = (*api)(nil)

func (a *api) ServeRequest(ctx context.Context, peer local.Peer, req wire.Request, out local.Responder) {
	if req.Cap != "" {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "capabilities are not supported yet")))
		return
	}
	if !a.authorized(peer) {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied,
			"permission denied: no capability for '%s' on '%s'", req.Action, req.Service)))
		return
	}
	if req.Action == "log" && req.Service != "" && slices.Contains(req.Args, "-f") {
		a.followLog(ctx, req, out)
		return
	}
	reply, err := ask(ctx, a.d, a.d.registry, func(ch chan<- wire.Reply) any {
		return &clientRequest{Req: req, Reply: ch}
	})
	if err != nil {
		return // the connection is gone
	}
	out.Send(reply)
}

// authorized says whether peer holds the root capability: the daemon's own
// uid and root do; grants to other users come with capabilities.
func (a *api) authorized(peer local.Peer) bool {
	return peer.UID == 0 || int(peer.UID) == a.d.uid
}

// followLog streams a service's output: the last N lines, then every new
// line until the client goes away.
func (a *api) followLog(ctx context.Context, req wire.Request, out local.Responder) {
	n, err := logLinesArg(req.Args)
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)))
		return
	}
	r, err := ask(ctx, a.d, a.d.registry, func(ch chan<- resolved) any { return &resolve{Name: req.Service, Reply: ch} })
	if err != nil {
		return
	}
	if !r.OK {
		out.Send(wire.ErrReply(req.ID, &wire.Error{Kind: wire.ServiceNotFound, Service: req.Service,
			Message: "service '" + req.Service + "' could not be found"}))
		return
	}
	// Subscribe before reading the backlog so no line falls in between;
	// the logger handles both in order.
	ch := make(chan []string, 256)
	root := a.d.system.Root
	root.Send(r.Logger, &followLog{Ch: ch})
	defer root.Send(r.Logger, &unfollowLog{Ch: ch})
	backlog, err := ask(ctx, a.d, r.Logger, func(c chan<- []string) any { return &recentLines{N: n, Reply: c} })
	if err != nil {
		return
	}
	if !out.Send(wire.Reply{ID: req.ID, OK: true, More: true, Result: mustJSON(wire.LogResult{Entries: outputEntries(r.Name, backlog)})}) {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case lines, ok := <-ch:
			if !ok {
				out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "log follower fell behind; lines were dropped")))
				return
			}
			if !out.Send(wire.Reply{ID: req.ID, OK: true, More: true, Result: mustJSON(wire.LogResult{Entries: outputEntries(r.Name, lines)})}) {
				return
			}
		}
	}
}

func mustJSON(v any) []byte {
	return wire.OKReply(0, v).Result
}
