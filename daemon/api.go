package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/actors/registry"
	"github.com/shepherd-go/shepherd/actors/timer"
	"github.com/shepherd-go/shepherd/daemon/sections"

	"github.com/shepherd-go/shepherd/actors/caretaker"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/jobbook"

	"github.com/shepherd-go/shepherd/capability"
	factpull "github.com/shepherd-go/shepherd/facts/collect"
	"github.com/shepherd-go/shepherd/fleet/relay"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/exectarget"
	"github.com/shepherd-go/shepherd/internal/tail"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/p2p"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// api serves control-socket requests by handing them to the actors.
type api struct{ d *Daemon }

var _ local.Handler = (*api)(nil)

func (a *api) ServeRequest(ctx context.Context, peer local.Peer, req wire.Request, out local.Responder) {
	privileged := a.privileged(peer)
	caller := holderOf(peer)
	who := caller.String()
	if peer.Via != "" {
		who += " via " + peer.Via
	}
	if req.Relayed {
		// Another daemon relays this for one of its users, not for
		// itself: a grant bound to that daemon is not theirs to use.
		caller = capability.Holder{}
		who += " (relayed)"
	}
	if peer.Remote != "" && (strings.HasPrefix(req.Action, "cap-") || req.Cap == "" && !(req.Action == "status" && req.Service == "")) {
		// A daemon on the network holds exactly what its capabilities say:
		// it presents one with every request, and manages none.
		a.refusedRemote(peer)
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: present a capability for '%s'", req.Action)))
		return
	}
	var presented *capability.Swiss
	if req.Cap != "" {
		ref, err := capability.ParseSturdyref(req.Cap)
		if err != nil {
			out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "--cap: %v", err)))
			return
		}
		if ref.Peer != a.d.peerID {
			// Another daemon's capability: relay it over the network
			// (herd speaks only to its local daemon). Network callers get
			// no relay, so a relay never loops.
			if peer.Remote != "" {
				a.refusedRemote(peer)
				out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: this daemon relays for local users only")))
				return
			}
			a.forward(ctx, req, ref, privileged, out)
			return
		}
		// A presented capability is the request's only authority, also
		// for root: a daemon that calls another as root (a proxy, a
		// relay) must get what the capability says, not root's rights.
		privileged = false
		presented = &ref.Swiss
	}
	if req.Service == "" && jobbook.IsAction(req.Action) { // tracked jobs (actors/jobbook): a capability reports one job only
		out.Send(a.d.jobs.Serve(ctx, req, jobbook.Caller{Owner: privileged, UID: peer.UID, Holder: caller, Who: who, Cap: presented}))
		return
	}
	// The daemon's own business: its network identity and its fleet runs.
	var serve func(wire.Request) wire.Reply
	switch {
	case req.Action == "id" || req.Action == "peers":
		serve = a.d.netInfo
	case req.Action == "fleet-ping":
		serve = func(r wire.Request) wire.Reply { return p2p.PingReply(r, a.d.network, a.d.opts.RemoteCallTimeout) }
	case strings.HasPrefix(req.Action, "fleet-"):
		serve = a.d.fleetRuns.Serve
	case req.Service == "" && strings.HasPrefix(req.Action, "snapshot-"): // a service's own actions may be named so
		serve = a.d.snapshots.Serve
	case sections.Handles(req): // notify, monitors, collect-status; facts and query
		serve = a.d.sections.Serve
	case timer.Handles(req): // timers, trigger, schedule (actors/timer)
		serve = func(r wire.Request) wire.Reply { return a.d.timers.Serve(ctx, r, who) }
	}
	if serve != nil {
		if !privileged {
			out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s'", req.Action)))
			return
		}
		out.Send(serve(req))
		return
	}
	if req.Action == "spawn" { // runs a command: the daemon's own authority alone
		if !privileged {
			a.refusedRemote(peer)
		}
		registry.ServeSpawn(ctx, privileged, a.d.system.Root, a.d.registry, req, who, out.Send)
		return
	}
	if req.Action == "cap-import" {
		if !privileged {
			out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: no capability for 'cap-import'")))
			return
		}
		if reply, err := ask(ctx, a.d, a.d.registry, func(ch chan<- wire.Reply) any {
			return &registry.ClientRequest{Req: req, Reply: ch}
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
			return &caretaker.Command{Req: req, UID: peer.UID, Privileged: privileged, Reply: ch}
		})
		if err == nil {
			out.Send(reply)
		}
		return
	}
	// authz checks the request again; follow streams call it for every
	// batch, so a revocation ends them at once. Nil: the root capability.
	// scope is the one service an unprivileged caller may see.
	var authz func() *wire.Error
	// hashable says whether file-stat may read a file of n bytes for its
	// checksum: only one the capability would let the caller read or
	// write. Nil: the root capability. mayRead says whether a tail may
	// read another file (a copytruncate copy) for the caller.
	var hashable func(n int64) bool
	mayRead := func(string) bool { return true }
	scope := ""
	if !privileged {
		if presented != nil && req.Service == "" {
			// A proxy's request names no service: the capability does.
			target, err := ask(ctx, a.d, a.d.caretaker, func(ch chan<- string) any { return &caretaker.TargetOf{Swiss: *presented, Reply: ch} })
			if err != nil {
				return
			}
			if target == "" {
				a.refusedRemote(peer)
				out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s'", req.Action)))
				return
			}
			req.Service = target
		}
		target, action, named, werr := a.gate(ctx, req)
		if werr != nil {
			out.Send(wire.ErrReply(req.ID, werr))
			return
		}
		if target != "" {
			scope = target
			checks := 0
			authz = func() *wire.Error {
				checks++
				err, aerr := ask(ctx, a.d, a.d.caretaker, func(ch chan<- error) any {
					return &caretaker.Authorize{Recheck: checks > 1, Holder: caller, Who: who, Cap: presented, Target: target, Action: action,
						Command: exectarget.Argv(req), Args: customArgs(req), File: tailSubject(req, a.d.files.Subject), Reply: ch}
				})
				if aerr != nil {
					return wire.Errorf(wire.Timeout, "%v", aerr)
				}
				if err != nil {
					e := wire.Errorf(caretaker.ErrorKind(err), "%v", err)
					if e.Kind == wire.PermissionDenied {
						e.Message = fmt.Sprintf("permission denied: no capability for '%s' on '%s'", req.Action, named)
						if argv := exectarget.Argv(req); argv != nil {
							e = exectarget.Denied(argv)
						}
					}
					return e
				}
				return nil
			}
			// allowed asks the caretaker about another file than the
			// request's, without an audit event.
			allowed := func(file capability.FileSubject) bool {
				err, aerr := ask(ctx, a.d, a.d.caretaker, func(ch chan<- error) any {
					return &caretaker.Authorize{Recheck: true, Holder: caller, Who: who, Cap: presented, Target: target, Action: action, File: file, Reply: ch}
				})
				return aerr == nil && err == nil
			}
			hashable = func(n int64) bool {
				file := a.d.files.Subject(req)
				file.Size = n
				return allowed(file)
			}
			mayRead = func(p string) bool {
				file := tailSubject(req, a.d.files.Subject)
				file.Path = p
				return allowed(file)
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
	case req.Action == factpull.Action && req.Service == capability.FactsTarget:
		out.Send(factpull.Serve(a.d.history, req))
		return
	case a.d.files.Handles(req):
		out.Send(a.d.files.ServeRequest(req, who, hashable))
		return
	case req.Service == capability.ReadTarget && req.Action == capability.SnapshotAction:
		a.serveSnapshot(ctx, req, out)
		return
	case req.Service == capability.ReadTarget && req.Action == tailAction:
		tailServe(ctx, req, out.Send, authz, mayRead)
		return
	case req.Action == "exec" && (req.Service == "" || req.Service == capability.ExecTarget):
		exectarget.Run(ctx, a.d.execEnv(), req, who, out)
		return
	case req.Action == relay.StreamAction && req.Service == relay.Target: // fleet/relay: this daemon follows a stream for fleet tail
		relay.ServeStream(ctx, relay.Env{Dial: a.d.dialOut, CallTimeout: a.d.opts.RemoteCallTimeout}, req, authz, out)
		return
	case req.Action == relay.Action && req.Service == relay.Target: // fleet/relay: this daemon relays a fleet run
		relay.Serve(ctx, relay.Env{Dial: a.d.dialOut, CallTimeout: a.d.opts.RemoteCallTimeout}, req, exectarget.Args, out)
		return
	case req.Action == "log" && slices.Contains(req.Args, "-f") && req.Service == "":
		registry.FollowAll(ctx, a.d.system.Root, a.d.registry, req, out.Send)
		return
	case req.Action == "log" && slices.Contains(req.Args, "-f"):
		a.followLog(ctx, req, out, authz)
		return
	case req.Action == "history" || req.Action == "events":
		a.history(ctx, req, out, authz, scope)
		return
	}
	reply, err := ask(ctx, a.d, a.d.registry, func(ch chan<- wire.Reply) any {
		return &registry.ClientRequest{Req: req, Who: who, Reply: ch}
	})
	if err != nil {
		return // the connection is gone
	}
	if req.Action == "reload" && req.Service == "" {
		reply = a.d.sections.Amend(reply)
	}
	if req.Action == "status" && req.Service != "" && reply.OK {
		reply = boundRecent(reply)
	}
	if !privileged && req.Action == "status" && reply.OK {
		if req.Service == "" {
			reply = a.visibleOnly(ctx, caller, reply)
		} else {
			reply = redactRemote(reply)
		}
	}
	out.Send(reply)
}

// canonicalGrant makes a grant name the service by its canonical name
// (a grant on an alias must cover the service), and refuses an unknown one.
func (a *api) canonicalGrant(ctx context.Context, req wire.Request) (wire.Request, *wire.Error) {
	var args wire.CapArgs
	if len(req.Args) != 1 || json.Unmarshal([]byte(req.Args[0]), &args) != nil {
		return req, wire.Errorf(wire.BadRequest, "cap-grant: malformed arguments")
	}
	if _, job := capability.JobOf(args.Service); job || args.Service == capability.ExecTarget || args.Service == capability.FilesTarget || args.Service == capability.ReadTarget || args.Service == relay.Target || args.Service == capability.FactsTarget || args.Admin() || isRoot(args.Service) { // the daemon's own: metrics, HTTP, jobs, relays
		return req, nil
	}
	r, err := ask(ctx, a.d, a.d.registry, func(ch chan<- registry.Resolved) any { return &registry.Resolve{Name: args.Service, Reply: ch} })
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

// holderOf names the caller of a connection.
func holderOf(p local.Peer) capability.Holder {
	if p.Remote != "" {
		return capability.Holder{Peer: p.Remote}
	}
	uid := p.UID
	return capability.Holder{UID: &uid}
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

// gate decides what an unprivileged request needs: the service (its
// canonical name) and the action to hold on it, or "" for a request that
// needs no service (the filtered `status`), and the service as named. An
// unknown service goes to the caretaker like a known one, so that a
// refusal says nothing, and takes no less time, about whether it exists.
func (a *api) gate(ctx context.Context, req wire.Request) (target, action, named string, _ *wire.Error) {
	named, action = req.Service, req.Action
	if req.Action == "history" || req.Action == "events" {
		var err error
		if named, err = historyService(req); err != nil {
			return "", "", "", wire.Errorf(wire.BadRequest, "%s: %v", req.Action, err)
		}
	}
	switch {
	case named == capability.ExecTarget && req.Action == "exec", named == relay.Target && (req.Action == relay.Action || req.Action == relay.StreamAction):
		return named, req.Action, named, nil
	case named == capability.FactsTarget: // facts/collect: one read-only request
		if req.Action != factpull.Action {
			return "", "", named, wire.Errorf(wire.PermissionDenied, "permission denied: a facts capability allows '%s' only", factpull.Action)
		}
		return named, capability.FactsRead, named, nil
	case req.Action == "status" && named == "":
		return "", "", "", nil
	case named == "" || isRoot(named):
		return "", "", named, wire.Errorf(wire.PermissionDenied,
			"permission denied: no capability for '%s' on the whole daemon (name a service you hold a capability on)", req.Action)
	case req.Action == "unload":
		return "", "", named, wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s' on '%s'", req.Action, named)
	case req.Action == "history" || req.Action == "events" || req.Action == "doc" || req.Action == "status": // log is a right of its own (capability.HoldsAction)
		action = "status"
	}
	r, err := ask(ctx, a.d, a.d.registry, func(ch chan<- registry.Resolved) any { return &registry.Resolve{Name: named, Reply: ch} })
	if err != nil {
		return "", "", named, wire.Errorf(wire.Timeout, "%v", err)
	}
	if !r.OK {
		return named, action, named, nil
	}
	return r.Name, action, named, nil
}

// historyService is the service a history or events request is about:
// the request's, or its --service argument's ("" for all).
func historyService(req wire.Request) (string, error) {
	q, _, err := history.ParseQuery(req.Args, time.Now())
	switch {
	case err != nil:
		return "", err
	case q.Service != "" && req.Service != "" && q.Service != req.Service:
		return "", fmt.Errorf("the request names service %q and --service %q", req.Service, q.Service)
	case q.Service != "":
		return q.Service, nil
	}
	return req.Service, nil
}

// customArgs are the arguments of a custom action, for the capability
// check; built-in actions' arguments are the daemon's to check.
func customArgs(req wire.Request) []string {
	if slices.Contains(services.BuiltinActions, req.Action) || req.Action == "exec" || req.Action == "scale" {
		return nil
	}
	return req.Args
}

// A status shows at most statusLineMax bytes of each recent line, and
// statusRecentMax of them all: `herd log NAME` has the whole lines.
const (
	statusLineMax   = 2000
	statusRecentMax = 64 << 10
)

// boundRecent cuts a status's recent lines to size, newest kept first.
func boundRecent(reply wire.Reply) wire.Reply {
	if len(reply.Result) <= statusRecentMax {
		return reply
	}
	var s wire.Status
	if json.Unmarshal(reply.Result, &s) != nil {
		return reply
	}
	total := 0
	for i := len(s.Recent) - 1; i >= 0; i-- {
		if len(s.Recent[i]) > statusLineMax {
			cut := statusLineMax
			for cut > 0 && !utf8.RuneStart(s.Recent[i][cut]) {
				cut--
			}
			s.Recent[i] = fmt.Sprintf("%s [%d more bytes: herd log %s]", s.Recent[i][:cut], len(s.Recent[i])-cut, s.Name)
		}
		if total += len(s.Recent[i]); total > statusRecentMax {
			s.Recent = s.Recent[i+1:]
			break
		}
	}
	r := wire.OKReply(reply.ID, s)
	r.Seq = reply.Seq
	return r
}

// redactRemote hides, in a status for someone other than the daemon's
// owner, the swiss number of the capability a proxy uses: whoever sees it
// could use it as this daemon.
func redactRemote(reply wire.Reply) wire.Reply {
	var s wire.Status
	if json.Unmarshal(reply.Result, &s) != nil || s.Remote == "" {
		return reply
	}
	if ref, err := capability.ParseSturdyref(s.Remote); err == nil {
		s.Remote = ref.Redacted()
	} else {
		s.Remote = capability.RedactText(s.Remote)
	}
	s.RemoteError = capability.RedactText(s.RemoteError)
	r := wire.OKReply(reply.ID, s)
	r.Seq = reply.Seq
	return r
}

// visibleOnly keeps, in a status summary, the services uid may see.
func (a *api) visibleOnly(ctx context.Context, h capability.Holder, reply wire.Reply) wire.Reply {
	visible, err := ask(ctx, a.d, a.d.caretaker, func(ch chan<- map[string]bool) any { return &caretaker.VisibleTo{Holder: h, Reply: ch} })
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
	la, err := tail.ParseLog(req.Args) // -n, and fleet tail's host-side --grep, --exclude, --since
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)))
		return
	}
	r, err := ask(ctx, a.d, a.d.registry, func(ch chan<- registry.Resolved) any { return &registry.Resolve{Name: req.Service, Reply: ch} })
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
	root.Send(r.Logger, &logger.FollowLog{Ch: ch})
	defer root.Send(r.Logger, &logger.UnfollowLog{Ch: ch})
	backlog, err := ask(ctx, a.d, r.Logger, func(c chan<- []string) any { return &logger.RecentLines{N: la.Backlog(), Reply: c} })
	if err != nil {
		return
	}
	if !out.Send(wire.Reply{ID: req.ID, OK: true, More: true, Result: mustJSON(wire.LogResult{Entries: registry.OutputEntries(r.Name, la.Pick(backlog, time.Now(), tail.Stamp))})}) {
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
			lines := la.Live(logger.SplitLines(chunk))
			if len(lines) == 0 {
				continue
			}
			if !out.Send(wire.Reply{ID: req.ID, OK: true, More: true, Result: mustJSON(wire.LogResult{Entries: registry.OutputEntries(r.Name, lines)})}) {
				return
			}
		}
	}
}

// historyPage is how many events a frame of history carries.
const historyPage = 1000

// history serves `history SERVICE` and `events [--service S] [-f]`. A
// caller that holds a capability on scope sees that service's events and
// nothing else: no other service's, no daemon or capability events.
func (a *api) history(ctx context.Context, req wire.Request, out local.Responder, authz func() *wire.Error, scope string) {
	q, follow, err := history.ParseQuery(req.Args, time.Now())
	if err == nil {
		q.Service, err = historyService(req)
	}
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%s: %v", req.Action, err)))
		return
	}
	if req.Action == "history" && q.Service == "" {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "history needs a service (herd events shows every service)")))
		return
	}
	if scope != "" {
		q.Service = scope
	}
	if q.Service != "" {
		r, err := ask(ctx, a.d, a.d.registry, func(ch chan<- registry.Resolved) any { return &registry.Resolve{Name: q.Service, Reply: ch} })
		if err != nil {
			return
		}
		if !r.OK && !a.d.history.Knows(q.Service) { // a transient gone keeps its history
			out.Send(wire.ErrReply(req.ID, &wire.Error{Kind: wire.ServiceNotFound, Service: q.Service,
				Message: "service '" + q.Service + "' could not be found"}))
			return
		}
		q.Service = r.NameOr(q.Service)
	}
	var ch chan []history.Event
	if follow {
		// Subscribe before reading the store, so nothing falls between.
		ch = make(chan []history.Event, 1024)
		a.d.system.Root.Send(a.d.historian, &historian.Subscribe{Ch: ch})
		defer a.d.system.Root.Send(a.d.historian, &historian.Unsubscribe{Ch: ch})
	}
	keep := func(e history.Event) bool { return q.Service == "" || e.Service == q.Service }
	if scope != "" {
		keep = func(e history.Event) bool { return e.Service == scope && e.Kind != history.KindCapability }
	}
	// The backlog goes out in pages as the store is read: a long history
	// is never held whole (a client puts the pages together).
	last := q.AfterSeq
	page := wire.Events{Events: []wire.Event{}}
	gone := errors.New("the client went away")
	err = a.d.history.Each(q, func(e history.Event) error {
		if !keep(e) {
			return nil
		}
		last = e.Seq
		page.Events = append(page.Events, wire.Event(e))
		if len(page.Events) < historyPage {
			return nil
		}
		if !out.Send(wire.Reply{ID: req.ID, OK: true, More: true, Result: mustJSON(page)}) {
			return gone
		}
		page.Events = page.Events[:0]
		return nil
	})
	if errors.Is(err, gone) {
		return
	}
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)))
		return
	}
	if !out.Send(wire.Reply{ID: req.ID, OK: true, More: follow, Result: mustJSON(page)}) || !follow {
		return
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
			w := wireEvents(batch, keep, last)
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

// wireEvents converts the events after seq that keep selects.
func wireEvents(evs []history.Event, keep func(history.Event) bool, after uint64) wire.Events {
	out := wire.Events{Events: make([]wire.Event, 0, len(evs))}
	for _, e := range evs {
		if e.Seq > after && keep(e) {
			out.Events = append(out.Events, wire.Event(e))
		}
	}
	return out
}

func mustJSON(v any) []byte {
	return wire.OKReply(0, v).Result
}
