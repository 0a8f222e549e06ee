package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// Transient services (`herd spawn -- CMD`): the registry makes one from
// a command as it registers a loaded file's services (a controller, a
// logger, a cgroup, history), starts it, and forgets it once it has
// ended (services.TransientEnd): after the last of its output is in its
// log (logger.AwaitEnd), with its last exit for whoever waits
// (`spawn --wait`). Its history stays, and `herd history NAME` shows it.
//
// Who may spawn is the API layer's business: only a caller with the
// daemon's authority (its owner or root, on the control socket, with no
// capability presented) reaches ServeSpawn. Running as another user
// needs a daemon that can switch to it (services.CheckSpawnUser).
//
// A re-exec hands transients over as it hands over every service: their
// definitions (Transient set) and machines; the new registry tracks them
// again (trackTransients), and one that had ended is forgotten then. The
// counter of transient-N names is kept in the history store
// (TransientRecordKind), so that a name is not used again after a
// re-exec nor a restart, and the history of one transient-N is its own.
// A daemon that ends (stop, crash) does not bring transients back: they
// are no file's.

// TransientRecordKind is the history store's record of the counter of
// transient-N names (key "counter", the last N used, decimal).
const TransientRecordKind = "transient"

// transientEndWait bounds how long a transient that ended waits for the
// end of its output before it is forgotten: a process it left behind may
// hold its pipe open (its cgroup is killed by the stop, not by an exit).
const transientEndWait = time.Second

// spawnStatusWait bounds the wait for a new transient's PID.
const spawnStatusWait = time.Second

// Spawn asks the registry to make a transient service and start it.
type Spawn struct {
	Args  wire.SpawnArgs
	Who   string
	ReqID uint64
	// Follow, when set, gets the service's output from its first line
	// (logger.FollowLog), unless Gone is closed by then (the client went
	// away before the transient was made; later, SpawnDone says so).
	Follow chan []byte
	Gone   <-chan struct{}
	// Started gets the start's answer (an ActionResult, or the error);
	// End, buffered, how the transient ended, once it is forgotten.
	Started chan<- wire.Reply
	End     chan<- SpawnEnd
}

// SpawnDone: whoever sent a Spawn with Follow reads it no more (its
// client went away, or it ended); the transient's logger stops copying
// output to it.
type SpawnDone struct{ Follow chan []byte }

// SpawnEnd says how a transient ended: its last process's exit, if it
// ran one.
type SpawnEnd struct{ Exit *wire.ExitInfo }

// transientState is the registry's bookkeeping of its transients.
type transientState struct {
	// byName holds the transients known; next is the counter of the
	// next transient-N (0: not read from the store yet).
	byName map[string]*transient
	next   uint64
}

type transient struct {
	// armed: seen starting, running or stopping (services.TransientEnd);
	// leaving: ended, its output's end and last exit being fetched.
	armed, leaving bool
	ends           []chan<- SpawnEnd
	// follows are the --wait followers of its output, until SpawnDone.
	follows []chan []byte
}

// spawnParsed is a transient's definition, read off the registry's
// goroutine (user names go through NSS).
type spawnParsed struct {
	msg  *Spawn
	spec *services.Spec
	err  *wire.Error
}

// transientGone: a transient that ended has its output ended and its
// last exit fetched; it is forgotten now, if it has not started again.
type transientGone struct {
	name string
	exit *wire.ExitInfo
}

// spawn names the transient and reads its definition in a goroutine.
func (r *registry) spawn(ctx actor.Context, msg *Spawn) {
	st := r.st
	if st.stopping {
		msg.Started <- wire.ErrReply(msg.ReqID, wire.Errorf(wire.BadRequest, "the daemon is stopping"))
		return
	}
	name := msg.Args.Name
	if name == "" {
		name = r.transientName(ctx)
	} else if services.IsTransientName(name) {
		msg.Started <- wire.ErrReply(msg.ReqID, wire.Errorf(wire.InvalidConfig,
			"spawn: names such as %s are the daemon's own, for transients without --name; choose another --name", name))
		return
	} else if owner, taken := st.aliases[name]; taken {
		msg.Started <- wire.ErrReply(msg.ReqID, wire.Errorf(wire.InvalidConfig,
			"spawn: the name %s is taken by service %s; choose another --name, or leave it out for a transient-N", name, owner))
		return
	}
	args, acc, uid := msg.Args, st.env.Accounts, st.env.Service.UID
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	st.env.Service.Go(func() {
		p := &spawnParsed{msg: msg, err: wire.Errorf(wire.InvalidConfig, "%v", errReadPanicked)}
		defer func() { send(self, p) }()
		spec, err := config.TransientSpec(name, args.Command, args.User, args.Respawn, msg.Who, acc)
		if err != nil {
			p.err = wire.Errorf(wire.InvalidConfig, "%v", err)
			return
		}
		if !args.At.IsZero() {
			services.Schedule(spec, args.At) // herd schedule: its timer starts it
		}
		if c := spec.Credentials; c != nil {
			if err := services.CheckSpawnUser(uid, args.User, c.User.UID); err != nil {
				p.err = wire.Errorf(wire.PermissionDenied, "%v", err)
				return
			}
		}
		p.spec, p.err = spec, nil
	})
}

// onSpawnParsed registers the transient read and starts it.
func (r *registry) onSpawnParsed(ctx actor.Context, p *spawnParsed) {
	st, msg := r.st, p.msg
	if p.err == nil && st.stopping {
		p.err = wire.Errorf(wire.BadRequest, "the daemon is stopping")
	}
	if p.err == nil {
		if _, err := r.register(ctx, []*services.Spec{p.spec}, nil, false); err != nil {
			p.err = wire.Errorf(wire.InvalidConfig, "spawn: %v", err)
		}
	}
	if p.err != nil {
		msg.Started <- wire.ErrReply(msg.ReqID, p.err)
		return
	}
	name := p.spec.Name
	t := st.transients.byName[name] // made by add (trackTransients)
	t.ends = append(t.ends, msg.End)
	follow := msg.Follow
	select {
	case <-msg.Gone:
		follow = nil
	default:
	}
	if follow != nil {
		// Before the start, so that the first line reaches it.
		ctx.Send(st.loggers[name], &logger.FollowLog{Ch: follow})
		t.follows = append(t.follows, follow)
	}
	ctx.Send(st.env.Service.Historian, &historian.Record{Events: []history.Event{{
		Service: name, Kind: history.KindAction, Action: "spawn", Who: msg.Who, Command: p.spec.Command,
		Message: "transient service: " + strings.Join(p.spec.Command, " "),
	}}})
	if p.spec.Timer != nil { // scheduled: its timer starts it (herd schedule)
		msg.Started <- wire.OKReply(msg.ReqID, wire.ActionResult{Service: name, Outcome: wire.Stopped})
		return
	}
	ctx.Send(service.ControllerPID(ctx.Self(), name), &service.Request{
		Req: wire.Request{ID: msg.ReqID, Service: name, Action: "start"}, Who: msg.Who, Reply: msg.Started,
	})
}

// onSpawnDone unsubscribes a --wait follower from its transient's
// output: without it, a client that went away left the logger filling
// its buffer (up to 1024 chunks of output) for as long as the transient
// ran.
func (r *registry) onSpawnDone(ctx actor.Context, msg *SpawnDone) {
	for name, t := range r.st.transients.byName {
		if i := slices.Index(t.follows, msg.Follow); i >= 0 {
			t.follows = slices.Delete(t.follows, i, i+1)
			if l := r.st.loggers[name]; l != nil {
				ctx.Send(l, &logger.UnfollowLog{Ch: msg.Follow})
			}
			return
		}
	}
}

// transientName picks the next transient-N that names no service, and
// keeps the counter in the history store.
func (r *registry) transientName(ctx actor.Context) string {
	st := r.st
	tr := &st.transients
	if tr.next == 0 {
		var kept []byte
		if st.env.Records != nil {
			var err error
			if kept, err = st.env.Records.Record(TransientRecordKind, "counter"); err != nil {
				st.env.Service.Logf("history: the counter of transient services cannot be read, counting from 1 (a name may name an earlier transient's history too): %v", err)
			}
		}
		tr.next = services.NextTransient(kept)
	}
	for {
		n := tr.next
		tr.next++
		name := services.TransientName(n)
		if _, taken := st.aliases[name]; !taken {
			r.keepIntent(ctx, []history.Record{{Kind: TransientRecordKind, Key: "counter", Value: fmt.Appendf(nil, "%d", n)}}, nil)
			return name
		}
	}
}

// trackTransients takes on the transients among specs, just added: made
// by a spawn (stopped, to be started), or handed over by a re-exec
// (restored), where one that had ended is forgotten now.
func (r *registry) trackTransients(ctx actor.Context, specs []*services.Spec, restored bool) {
	st := r.st
	for _, s := range specs {
		if !s.Transient {
			continue
		}
		if st.transients.byName == nil {
			st.transients.byName = map[string]*transient{}
		}
		sum := st.summaries[s.Name]
		sum.Transient = true
		st.summaries[s.Name] = sum
		t := &transient{}
		st.transients.byName[s.Name] = t
		if restored {
			t.armed, _ = services.TransientEnd(sum.State, false, false)
			// A job of herd schedule stopped and not done has not run yet.
			waits := s.Timer != nil && sum.State == wire.StateStopped && !sum.Done
			r.transientUpdate(ctx, &service.SummaryUpdate{Summary: sum}, !waits)
		}
	}
}

// transientUpdate follows a transient's changes of state: one that has
// ended is forgotten, once its output has ended (its log then has every
// line) and its last exit is known. handedOver: a re-exec's, where a
// stopped transient had ended before it.
func (r *registry) transientUpdate(ctx actor.Context, u *service.SummaryUpdate, handedOver bool) {
	st := r.st
	name := u.Summary.Name
	t := st.transients.byName[name]
	if t == nil || st.stopping {
		return // the daemon's end stops them, and nothing comes back
	}
	armed, ended := services.TransientEnd(u.Summary.State, t.armed || handedOver, len(u.Transitions) > 0)
	t.armed = armed
	if !ended || t.leaving {
		return
	}
	t.leaving = true
	env, self := st.env.Service, ctx.Self()
	done := make(chan struct{}, 1)
	ctx.Send(st.loggers[name], &logger.AwaitEnd{Within: transientEndWait, Done: done})
	status := make(chan wire.Reply, 1)
	ctx.Send(service.ControllerPID(self, name), &service.Request{Req: wire.Request{Service: name, Action: "status", Args: []string{"-n", "0"}}, Reply: status})
	env.Go(func() {
		gone := &transientGone{name: name}
		defer env.Send(self, gone)
		awaitReply(env, done)
		rep, err := awaitReply(env, status)
		var s wire.Status
		if err == nil && rep.OK && json.Unmarshal(rep.Result, &s) == nil {
			gone.exit = s.LastExit
		}
	})
}

// onTransientGone forgets a transient that ended, unless it was started
// again meanwhile (herd start), or another service names it.
func (r *registry) onTransientGone(ctx actor.Context, g *transientGone) {
	st := r.st
	t := st.transients.byName[g.name]
	if t == nil || st.stopping {
		return
	}
	t.leaving = false
	if state := st.summaries[g.name].State; state != wire.StateStopped && state != wire.StateFailed {
		t.armed = true
		return
	}
	for other, s := range st.specs {
		if other != g.name && (slices.Contains(s.Requires, g.name) || namedBy(s, g.name) != "") {
			st.env.Service.Logf("transient service %s has stopped but is kept: service %s names it (unload it with herd unload %s)", g.name, other, g.name)
			return
		}
	}
	// A stop of the stopped service is answered after every reply its
	// controller still holds (they wait, in order, for their events to
	// be durable): the spawn's start, a herd stop. Forgotten before,
	// the controller would take them with it.
	r.stopThen(ctx, g.name, func(lifecycle.Result) {
		if st.transients.byName[g.name] != t {
			return // unloaded meanwhile
		}
		// The answer of a failed start waits in the logger for the
		// lines of the output (logger.FillFailure): the logger answers
		// this after it, so that it is not stopped before.
		env, self, done := st.env.Service, ctx.Self(), make(chan struct{}, 1)
		ctx.Send(st.loggers[g.name], &logger.AwaitEnd{Within: transientEndWait, Done: done})
		env.Go(func() {
			awaitReply(env, done)
			env.Send(self, &transientForget{gone: g, t: t})
		})
	})
}

// transientForget: a transient that ended has no answer left in its
// controller nor its logger; it is forgotten now.
type transientForget struct {
	gone *transientGone
	t    *transient
}

func (r *registry) onTransientForget(ctx actor.Context, f *transientForget) {
	st, name := r.st, f.gone.name
	if st.transients.byName[name] != f.t {
		return // unloaded meanwhile
	}
	delete(st.transients.byName, name)
	for _, end := range f.t.ends {
		end <- SpawnEnd{Exit: f.gone.exit}
	}
	r.forget(ctx, name)
	r.updateDependents(ctx)
	ctx.Send(st.env.Service.Historian, &historian.Record{Events: []history.Event{{
		Service: name, Kind: history.KindAction, Action: "remove", Who: wire.RootService,
		Message: "transient service ended: removed",
	}}})
	st.env.Service.Logf("transient service %s ended: removed", name)
}

// forgetTransient drops a transient being forgotten otherwise (herd
// unload): whoever waits for its end learns it ended, with no exit.
func (r *registry) forgetTransient(name string) {
	t := r.st.transients.byName[name]
	if t == nil {
		return
	}
	delete(r.st.transients.byName, name)
	for _, end := range t.ends {
		end <- SpawnEnd{}
	}
}

// NameOr is the service's canonical name if it was found, else named (a
// service gone, whose history is still asked for).
func (r Resolved) NameOr(named string) string {
	if r.OK {
		return r.Name
	}
	return named
}

// transientStatus answers `status NAME` of a transient: its controller's
// status, marked transient. False: name is no transient.
func (r *registry) transientStatus(ctx actor.Context, name string, msg *ClientRequest) bool {
	if r.st.transients.byName[name] == nil {
		return false
	}
	reply, out, id, env := make(chan wire.Reply, 1), msg.Reply, msg.Req.ID, r.st.env.Service
	ctx.Send(service.ControllerPID(ctx.Self(), name), &service.Request{Req: msg.Req, Who: msg.Who, Reply: reply})
	env.Go(func() {
		rep, err := awaitReply(env, reply)
		if err != nil {
			out <- wire.ErrReply(id, wire.Errorf(wire.Timeout, "status of %s: %v", name, err))
			return
		}
		var s wire.Status
		if rep.OK && json.Unmarshal(rep.Result, &s) == nil {
			s.Transient = true
			seq := rep.Seq
			rep = wire.OKReply(rep.ID, s)
			rep.Seq = seq
		}
		out <- rep
	})
	return true
}

// ServeSpawn serves `spawn` (wire.SpawnArgs), refused unless the API
// layer found the caller to hold the daemon's own authority (authorized):
// it has the registry make the
// transient and start it, and answers with a SpawnResult; with Wait it
// first streams the output (LogResult frames) until the transient is
// gone, and its SpawnResult says how it ended. A client that goes away
// leaves the transient running.
func ServeSpawn(ctx context.Context, authorized bool, root *actor.RootContext, reg *actor.PID, req wire.Request, who string, send func(wire.Reply) bool) {
	if !authorized {
		send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied,
			"permission denied: spawning a command needs the daemon's own authority (its user or root), not a capability")))
		return
	}
	var args wire.SpawnArgs
	if len(req.Args) != 1 || json.Unmarshal([]byte(req.Args[0]), &args) != nil {
		send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "spawn: malformed arguments")))
		return
	}
	started, ended := make(chan wire.Reply, 1), make(chan SpawnEnd, 1)
	msg := &Spawn{Args: args, Who: who, ReqID: req.ID, Started: started, End: ended, Gone: ctx.Done()}
	if args.Wait {
		msg.Follow = make(chan []byte, 1024)
		defer root.Send(reg, &SpawnDone{Follow: msg.Follow})
	}
	root.Send(reg, msg)
	var rep wire.Reply
	select {
	case rep = <-started:
	case <-ended:
		// Its start's answer is lost: a bug, said rather than waited on.
		send(wire.ErrReply(req.ID, wire.Errorf(wire.StartFailed, "spawn: the transient service ended before its start was answered (see the daemon log)")))
		return
	case <-ctx.Done():
		return
	}
	if !rep.OK {
		send(rep)
		return
	}
	var ar wire.ActionResult
	if err := json.Unmarshal(rep.Result, &ar); err != nil {
		send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "spawn: %v", err)))
		return
	}
	res := wire.SpawnResult{Service: ar.Service, Outcome: ar.Outcome}
	if !args.Wait {
		// A command that ends at once may be gone already, its
		// controller with the question: asked briefly.
		if s, err := askStatus(ctx, root, reg, ar.Service); err == nil {
			res.PID = s.PID
		}
		send(wire.OKReply(req.ID, res))
		return
	}
	out := msg.Follow
	lines := func(chunk []byte) bool {
		return send(wire.Reply{ID: req.ID, OK: true, More: true,
			Result: wire.OKReply(0, wire.LogResult{Entries: OutputEntries(ar.Service, logger.SplitLines(chunk))}).Result})
	}
	for {
		select {
		case <-ctx.Done():
			return
		case chunk, ok := <-out:
			if !ok {
				res.OutputDropped, out = true, nil
				continue
			}
			if !lines(chunk) {
				return
			}
		case end := <-ended:
			// Every line came before the end (logger.AwaitEnd).
			for drained := false; !drained && out != nil; {
				select {
				case chunk, ok := <-out:
					if !ok {
						res.OutputDropped = true
						drained = true
					} else if !lines(chunk) {
						return
					}
				default:
					drained = true
				}
			}
			res.Outcome, res.Exit, res.Status = wire.Stopped, end.Exit, 1
			if e := end.Exit; e != nil {
				res.PID, res.Status = e.PID, services.ShellStatus(e.Code, e.Signal)
			}
			send(wire.OKReply(req.ID, res))
			return
		}
	}
}

// askStatus asks for a service's status, without its recent lines.
func askStatus(ctx context.Context, root *actor.RootContext, reg *actor.PID, name string) (wire.Status, error) {
	var s wire.Status
	ctx, cancel := context.WithTimeout(ctx, spawnStatusWait)
	defer cancel()
	ch := make(chan wire.Reply, 1)
	root.Send(reg, &ClientRequest{Req: wire.Request{Service: name, Action: "status", Args: []string{"-n", "0"}}, Reply: ch})
	select {
	case rep := <-ch:
		if !rep.OK {
			return s, rep.Error
		}
		return s, json.Unmarshal(rep.Result, &s)
	case <-ctx.Done():
		return s, ctx.Err()
	}
}
