package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// api serves control-socket requests by handing them to the actors.
type api struct{ d *Daemon }

var _ local.Handler = (*api)(nil)

func (a *api) ServeRequest(ctx context.Context, peer local.Peer, req wire.Request, out local.Responder) {
	privileged := a.privileged(peer)
	who := holderOf(peer).String()
	if peer.Remote != "" && (strings.HasPrefix(req.Action, "cap-") || req.Cap == "" && !(req.Action == "status" && req.Service == "")) {
		// A daemon on the network holds exactly what its capabilities say:
		// it presents one with every request, and manages none.
		a.refusedRemote(peer)
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: present a capability for '%s'", req.Action)))
		return
	}
	if req.Cap != "" {
		// A capability of another daemon: relay to it (herd speaks only to
		// its local daemon). Network callers get no relay.
		if ref, err := capability.ParseSturdyref(req.Cap); err == nil && ref.Peer != a.d.peerID {
			if peer.Remote != "" {
				out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: this daemon relays for local users only")))
				return
			}
			a.forward(ctx, req, ref, out)
			return
		}
	}
	// The daemon's own business: its network identity and its fleet runs.
	var serve func(wire.Request) wire.Reply
	switch {
	case req.Action == "id" || req.Action == "peers":
		serve = a.d.netInfo
	case strings.HasPrefix(req.Action, "fleet-"):
		serve = a.d.fleetRuns
	}
	if serve != nil {
		if !privileged {
			out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s'", req.Action)))
			return
		}
		out.Send(serve(req))
		return
	}
	if req.Action == "cap-import" {
		if !privileged {
			out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: no capability for 'cap-import'")))
			return
		}
		if reply, err := ask(ctx, a.d, a.d.registry, func(ch chan<- wire.Reply) any {
			return &clientRequest{Req: req, Reply: ch}
		}); err == nil {
			out.Send(reply)
		}
		return
	}
	if strings.HasPrefix(req.Action, "cap-") {
		if req.Action == "cap-grant" && privileged {
			var werr *wire.Error
			if req, werr = a.canonicalGrant(ctx, req); werr != nil {
				out.Send(wire.ErrReply(req.ID, werr))
				return
			}
		}
		reply, err := ask(ctx, a.d, a.d.caretaker, func(ch chan<- wire.Reply) any {
			return &capRequest{Req: req, UID: peer.UID, Privileged: privileged, Reply: ch}
		})
		if err == nil {
			out.Send(reply)
		}
		return
	}
	// authz checks the request again; follow streams call it for every
	// batch, so a revocation ends them at once. Nil: the root capability.
	var authz func() *wire.Error
	if !privileged || req.Cap != "" {
		var presented *capability.Swiss
		if req.Cap != "" {
			ref, err := capability.ParseSturdyref(req.Cap)
			if err != nil {
				out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "--cap: %v", err)))
				return
			}
			presented = &ref.Swiss
			if req.Service == "" {
				// A proxy's request names no service: the capability does.
				target, err := ask(ctx, a.d, a.d.caretaker, func(ch chan<- string) any { return &capTarget{Swiss: ref.Swiss, Reply: ch} })
				if err != nil {
					return
				}
				if target == "" && !privileged {
					a.refusedRemote(peer)
					out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s'", req.Action)))
					return
				}
				req.Service = target
			}
		}
		if privileged {
			presented = nil // root holds everything; the capability adds nothing
		} else {
			target, action, werr := a.gate(ctx, req)
			if werr != nil {
				out.Send(wire.ErrReply(req.ID, werr))
				return
			}
			if target != "" {
				checks := 0
				authz = func() *wire.Error {
					checks++
					err, aerr := ask(ctx, a.d, a.d.caretaker, func(ch chan<- error) any {
						return &authorize{Recheck: checks > 1, Holder: holderOf(peer), Cap: presented, Target: target, Action: action, Command: execArgv(req), Reply: ch}
					})
					if aerr != nil {
						return wire.Errorf(wire.Timeout, "%v", aerr)
					}
					if err != nil {
						e := wire.Errorf(wireKind(err), "%v", err)
						if e.Kind == wire.PermissionDenied {
							e.Message = fmt.Sprintf("permission denied: no capability for '%s' on '%s'", req.Action, req.Service)
							if argv := execArgv(req); argv != nil {
								e.Message = fmt.Sprintf("permission denied: no exec capability allows %q", strings.Join(argv, " "))
							}
						}
						return e
					}
					return nil
				}
				if werr := authz(); werr != nil {
					if werr.Kind == wire.PermissionDenied {
						a.refusedRemote(peer)
					}
					out.Send(wire.ErrReply(req.ID, werr))
					return
				}
				a.authorizedRemote(peer)
			}
		}
	}
	switch {
	case isRoot(req.Service):
		a.serveRoot(ctx, req, out)
		return
	case req.Action == "upgrade" && req.Service == "":
		err := a.d.Reexec(who, func(n int) {
			out.Send(wire.OKReply(req.ID, wire.UpgradeResult{PID: os.Getpid(), Reexecs: n}))
		})
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "%v", err)))
		return
	case req.Action == "exec" && (req.Service == "" || req.Service == capability.ExecTarget):
		a.runExec(ctx, req, who, out)
		return
	case req.Action == "log" && req.Service != "" && slices.Contains(req.Args, "-f"):
		a.followLog(ctx, req, out, authz)
		return
	case req.Action == "history" || req.Action == "events":
		a.history(ctx, req, out, authz)
		return
	}
	reply, err := ask(ctx, a.d, a.d.registry, func(ch chan<- wire.Reply) any {
		return &clientRequest{Req: req, Who: who, Reply: ch}
	})
	if err != nil {
		return // the connection is gone
	}
	if !privileged && req.Action == "status" && req.Service == "" && reply.OK {
		reply = a.visibleOnly(ctx, holderOf(peer), reply)
	}
	out.Send(reply)
}

// canonicalGrant makes a grant name the service by its canonical name
// (a grant on an alias must cover the service), and refuses an unknown one.
func (a *api) canonicalGrant(ctx context.Context, req wire.Request) (wire.Request, *wire.Error) {
	var args capArgs
	if len(req.Args) != 1 || json.Unmarshal([]byte(req.Args[0]), &args) != nil {
		return req, wire.Errorf(wire.BadRequest, "cap-grant: malformed arguments")
	}
	if args.Service == capability.ExecTarget {
		return req, nil
	}
	r, err := ask(ctx, a.d, a.d.registry, func(ch chan<- resolved) any { return &resolve{Name: args.Service, Reply: ch} })
	if err != nil {
		return req, wire.Errorf(wire.Timeout, "%v", err)
	}
	if !r.OK {
		return req, &wire.Error{Kind: wire.ServiceNotFound, Service: args.Service,
			Message: fmt.Sprintf("service '%s' could not be found", args.Service)}
	}
	args.Service = r.Name
	b, _ := json.Marshal(args)
	req.Args = []string{string(b)}
	return req, nil
}

// privileged says whether peer holds the root capability: root and the
// daemon's own uid do; any other uid holds only what was granted to it.
func (a *api) privileged(peer local.Peer) bool {
	return peer.Remote == "" && (peer.UID == 0 || int(peer.UID) == a.d.uid)
}

// refusedRemote counts a refused request of a network caller: one that
// keeps guessing is kept out for a while (netlayer/p2p's gater).
func (a *api) refusedRemote(peer local.Peer) {
	if peer.Remote == "" {
		return
	}
	if h := a.d.currentNet(); h != nil {
		h.Refused(peer.Remote)
	}
}

// authorizedRemote tells the libp2p host that a network caller's
// capability was checked and holds: the peer is known, out of the share
// of capacity and the address bans that unknown peers get (netlayer/p2p).
func (a *api) authorizedRemote(peer local.Peer) {
	if peer.Remote == "" {
		return
	}
	if h := a.d.currentNet(); h != nil {
		h.Authorized(peer.Remote)
	}
}

// gate decides what an unprivileged request needs: the service (canonical
// name) and the action to hold on it, or "" for a request that needs no
// service (the filtered `status`). What is not covered is refused without
// saying whether the service exists.
func (a *api) gate(ctx context.Context, req wire.Request) (string, string, *wire.Error) {
	service, action := req.Service, req.Action
	if req.Action == "events" {
		for i := 0; i+1 < len(req.Args); i++ {
			if req.Args[i] == "--service" {
				service = req.Args[i+1]
			}
		}
	}
	denied := wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s' on '%s'", req.Action, service)
	switch {
	case service == capability.ExecTarget && req.Action == "exec":
		return capability.ExecTarget, "exec", nil
	case req.Action == "status" && service == "":
		return "", "", nil
	case service == "" || isRoot(service):
		return "", "", denied
	case req.Action == "history" || req.Action == "events" || req.Action == "log" || req.Action == "doc" || req.Action == "status":
		action = "status"
	case req.Action == "unload":
		return "", "", denied
	}
	r, err := ask(ctx, a.d, a.d.registry, func(ch chan<- resolved) any { return &resolve{Name: service, Reply: ch} })
	if err != nil || !r.OK {
		return "", "", denied
	}
	return r.Name, action, nil
}

// visibleOnly keeps, in a status summary, the services uid may see.
func (a *api) visibleOnly(ctx context.Context, h capability.Holder, reply wire.Reply) wire.Reply {
	visible, err := ask(ctx, a.d, a.d.caretaker, func(ch chan<- map[string]bool) any { return &visibleTo{Holder: h, Reply: ch} })
	if err != nil {
		return reply
	}
	var all wire.StatusAll
	json.Unmarshal(reply.Result, &all)
	kept := wire.StatusAll{Services: []wire.Summary{}}
	for _, s := range all.Services {
		if visible[s.Name] {
			kept.Services = append(kept.Services, s)
		}
	}
	return wire.OKReply(reply.ID, kept)
}

// followLog streams a service's output: the last N lines, then every new
// line until the client goes away.
func (a *api) followLog(ctx context.Context, req wire.Request, out local.Responder, authz func() *wire.Error) {
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
	ch := make(chan []byte, 256)
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
		case chunk, ok := <-ch:
			if !ok {
				out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "log follower fell behind; lines were dropped")))
				return
			}
			if authz != nil {
				if werr := authz(); werr != nil {
					out.Send(wire.ErrReply(req.ID, werr))
					return
				}
			}
			if !out.Send(wire.Reply{ID: req.ID, OK: true, More: true, Result: mustJSON(wire.LogResult{Entries: outputEntries(r.Name, splitLines(chunk))})}) {
				return
			}
		}
	}
}

// history serves `history SERVICE` and `events [--service S] [-f]`.
func (a *api) history(ctx context.Context, req wire.Request, out local.Responder, authz func() *wire.Error) {
	q, follow, err := parseHistoryArgs(req.Args, time.Now())
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%s: %v", req.Action, err)))
		return
	}
	if req.Action == "history" && req.Service == "" {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "history needs a service (herd events shows every service)")))
		return
	}
	if req.Action == "history" {
		q.Service = req.Service
	}
	if q.Service != "" {
		r, err := ask(ctx, a.d, a.d.registry, func(ch chan<- resolved) any { return &resolve{Name: q.Service, Reply: ch} })
		if err != nil {
			return
		}
		if !r.OK {
			out.Send(wire.ErrReply(req.ID, &wire.Error{Kind: wire.ServiceNotFound, Service: q.Service,
				Message: "service '" + q.Service + "' could not be found"}))
			return
		}
		q.Service = r.Name
	}
	var ch chan []history.Event
	if follow {
		// Subscribe before reading the store, so nothing falls between.
		ch = make(chan []history.Event, 1024)
		a.d.system.Root.Send(a.d.historian, &subscribeEvents{Ch: ch})
		defer a.d.system.Root.Send(a.d.historian, &unsubscribeEvents{Ch: ch})
	}
	evs, err := a.d.history.Scan(q)
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)))
		return
	}
	if !out.Send(wire.Reply{ID: req.ID, OK: true, More: follow, Result: mustJSON(wireEvents(evs, q.Service, 0))}) || !follow {
		return
	}
	last := q.AfterSeq
	if len(evs) > 0 {
		last = evs[len(evs)-1].Seq
	}
	for {
		select {
		case <-ctx.Done():
			return
		case batch, ok := <-ch:
			if !ok {
				out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "event follower fell behind; events were dropped")))
				return
			}
			w := wireEvents(batch, q.Service, last)
			if len(w.Events) == 0 {
				continue
			}
			if authz != nil {
				if werr := authz(); werr != nil {
					out.Send(wire.ErrReply(req.ID, werr))
					return
				}
			}
			last = w.Events[len(w.Events)-1].Seq
			if !out.Send(wire.Reply{ID: req.ID, OK: true, More: true, Result: mustJSON(w)}) {
				return
			}
		}
	}
}

// wireEvents converts events of service (all when empty) after seq.
func wireEvents(evs []history.Event, service string, after uint64) wire.Events {
	out := wire.Events{Events: make([]wire.Event, 0, len(evs))}
	for _, e := range evs {
		if e.Seq > after && (service == "" || e.Service == service) {
			out.Events = append(out.Events, e)
		}
	}
	return out
}

// parseHistoryArgs reads --since D (a duration back from now, or a time),
// --limit N, --service S and -f.
func parseHistoryArgs(args []string, now time.Time) (q history.Query, follow bool, err error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "-f" || arg == "--follow" {
			follow = true
			continue
		}
		if i+1 >= len(args) {
			return q, false, fmt.Errorf("%s needs a value", arg)
		}
		v := args[i+1]
		i++
		switch arg {
		case "--since":
			if q.Since, err = parseSince(v, now); err != nil {
				return q, false, err
			}
		case "--limit":
			if q.Limit, err = strconv.Atoi(v); err != nil || q.Limit < 0 {
				return q, false, fmt.Errorf("--limit: expected a non-negative number, got %q", v)
			}
		case "--service":
			q.Service = v
		default:
			return q, false, fmt.Errorf("unknown argument %q", arg)
		}
	}
	return q, follow, nil
}

// parseSince accepts "90m", "2h", "3d" (back from now) or a local time
// "2006-01-02 15:04:05", "2006-01-02", or RFC 3339.
func parseSince(v string, now time.Time) (time.Time, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since: %q is neither a duration (90m, 2h, 3d) nor a time (2006-01-02 15:04:05)", v)
}

func mustJSON(v any) []byte {
	return wire.OKReply(0, v).Result
}
