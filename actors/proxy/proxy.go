package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/services/lifecycle"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// DefaultCallTimeout bounds every call to an exporting daemon (unless
// Env.CallTimeout says otherwise): an unreachable host is an error,
// never a hang.
const DefaultCallTimeout = 10 * time.Second

// proxy is a `remote:` service: a local name for a service another daemon
// exports through a capability. Its actions are calls to that daemon,
// made with the capability, each in a goroutine of its own so the proxy
// never blocks; its state is the last state the exporter reported.
type proxy struct{ st *proxyState }

type proxyState struct {
	env   Env
	spec  *services.Spec
	ref   capability.Sturdyref
	seen  mirror
	since time.Time
	// stopWatch ends the watcher (the proxy is going away).
	stopWatch context.CancelFunc
	// line carries the calls; the watcher drops it when it loses the
	// exporter, and the proxy when it goes away.
	line callLine
	// rtt is the last ping's round trip (0: none yet), for Stats.
	rtt time.Duration
}

// remoteDone carries the answer of a remote call back into the proxy.
type remoteDone struct {
	rep  wire.Reply
	err  error
	then func(wire.Reply, error)
}

// Env is what a proxy needs of the daemon.
type Env struct {
	// Go runs f on an accounted goroutine; Logf writes to the daemon log.
	Go   func(f func())
	Logf func(format string, args ...any)
	// Registry hears of every change of the mirrored state.
	Registry *actor.PID
	// Dial connects to the daemon that exported ref; Ping checks that it
	// is alive without a request to it.
	Dial func(ctx context.Context, ref capability.Sturdyref) (*local.Client, error)
	Ping func(ctx context.Context, ref capability.Sturdyref) error
	// CallTimeout bounds every call to the exporter.
	CallTimeout time.Duration
	// Historian, if set, records each time the exporter is lost or
	// reached again (an event of kind proxy, with the mirrored state):
	// the source of proxy-unreachable notifications.
	Historian *actor.PID
}

// NewProps makes the proxy of a `remote:` service.
func NewProps(env Env, s *services.Spec) (*actor.Props, error) {
	ref, err := capability.ParseSturdyref(s.Remote)
	if err != nil {
		return nil, err
	}
	st := &proxyState{env: env, spec: s, ref: ref, seen: mirror{State: wire.StateStopped}, since: time.Now()}
	return actor.PropsFromProducer(func() actor.Actor { return &proxy{st: st} }), nil
}

func (p *proxy) summary() wire.Summary {
	return wire.Summary{Name: p.st.spec.Name, State: p.st.seen.State, Enabled: true}
}

func (p *proxy) Receive(ctx actor.Context) {
	st := p.st
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if st.stopWatch == nil {
			wctx, cancel := context.WithCancel(context.Background())
			st.stopWatch = cancel
			self, send := ctx.Self(), ctx.ActorSystem().Root.Send
			st.env.Go(func() { p.watch(wctx, func(s remoteState) { send(self, &s) }) })
		}
	case *actor.Stopping:
		if st.stopWatch != nil {
			st.stopWatch()
		}
		st.line.drop()
	case *remoteState:
		if msg.RTT > 0 {
			st.rtt = msg.RTT
			return
		}
		before := st.seen.State
		st.seen = st.seen.apply(*msg)
		p.changed(ctx, before)
	case *service.Request:
		req := msg.Req
		p.call(ctx, req.Action, req.Args, func(rep wire.Reply, err error) {
			msg.Reply <- p.localReply(req, rep, err)
		})
	case *service.PeerRequest:
		if msg.Op == lifecycle.PeerAwait {
			// A service after a remote one does not wait for it: its
			// start is the exporter's, not ordered with ours.
			ctx.Send(msg.From, &service.PeerReply{Name: st.spec.Name, Op: msg.Op, Result: lifecycle.Result{Outcome: lifecycle.OutNotRunning}})
			return
		}
		action := "start"
		if msg.Op == lifecycle.PeerStop {
			action = "stop"
		}
		from := msg.From
		if msg.Local {
			// The local daemon stops: the remote service is not its to stop.
			ctx.Send(from, &service.PeerReply{Name: st.spec.Name, Op: msg.Op, Result: lifecycle.Result{Outcome: lifecycle.OutNotRunning}})
			return
		}
		p.call(ctx, action, nil, func(rep wire.Reply, err error) {
			r := lifecycle.Result{Outcome: lifecycle.OutStarted, Steps: []lifecycle.Step{{Service: st.spec.Name, Outcome: lifecycle.OutStarted}}}
			switch {
			case err != nil || !rep.OK:
				r = lifecycle.Result{Outcome: lifecycle.OutFailed, Reason: p.describe(rep, err)}
			case action == "stop":
				r = lifecycle.Result{Outcome: lifecycle.OutStopped, Steps: []lifecycle.Step{{Service: st.spec.Name, Outcome: lifecycle.OutStopped}}}
			}
			ctx.Send(from, &service.PeerReply{Name: st.spec.Name, Op: msg.Op, Result: r})
		})
	case *service.SetDependents:
	case *Stats:
		msg.Reply <- Stat{Name: st.spec.Name, Reachable: st.seen.State != wire.StateUnreachable, RTT: st.rtt}
	case *remoteDone:
		before := st.seen.State
		st.seen = st.seen.apply(answered(msg.rep, msg.err))
		p.changed(ctx, before)
		msg.then(msg.rep, msg.err)
	}
}

// call sends action to the exporter with the capability, off the mailbox.
func (p *proxy) call(ctx actor.Context, action string, args []string, then func(wire.Reply, error)) {
	st := p.st
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	st.env.Go(func() {
		cctx, cancel := context.WithTimeout(context.Background(), st.env.CallTimeout)
		defer cancel()
		rep, err := p.remoteCall(cctx, wire.Request{Action: action, Args: args, Cap: st.spec.Remote})
		send(self, &remoteDone{rep: rep, err: err, then: then})
	})
}

// dial opens a connection to the exporter.
func (p *proxy) dial(ctx context.Context) (*local.Client, error) {
	return p.st.env.Dial(ctx, p.st.ref)
}

// remoteCall makes one call to the exporter.
func (p *proxy) remoteCall(ctx context.Context, req wire.Request) (wire.Reply, error) {
	rep, err := p.st.line.call(ctx, p.dial, req)
	if err != nil {
		return rep, fmt.Errorf("unreachable: %w", err)
	}
	return rep, nil
}

// remoteState is news of the exporter's service: its state after the
// state event numbered Seq, or in an answer (Answer) reflecting changes
// up to Seq (0: not known); that it is unreachable (Err), or that an
// answer refused the call (Refused); or (Reset) that the watcher
// connects anew, to an exporter that may count anew.
type remoteState struct {
	State   string
	Seq     uint64
	Answer  bool
	Err     string
	Refused string
	Reset   bool
	// RTT, alone, is a ping's round trip.
	RTT time.Duration
}

// mirror is what a proxy knows of the remote service: its state (or
// "unreachable"), the last error, and the exporter's history sequence
// number of the newest event or answer the state reflects.
type mirror struct {
	State string
	Err   string
	Seq   uint64
}

// apply returns what the proxy knows after news. Events come in order on
// one stream and answers on others, so an event may trail an answer that
// is newer (a start's "starting" after its answer "running") and an
// answer may trail events that are newer (the service exited at once):
// the sequence numbers keep the older from undoing the newer, without a
// status call after every event.
func (m mirror) apply(n remoteState) mirror {
	switch {
	case n.Reset:
		m.Seq = 0
	case n.Err != "":
		m.State, m.Err = wire.StateUnreachable, n.Err
	case n.Refused != "":
		m.Err = n.Refused
	case n.Answer && n.Seq != 0 && n.Seq < m.Seq:
		m.Err = "" // an event newer than the answer is applied already
	case n.Answer:
		m.Err, m.Seq = "", max(m.Seq, n.Seq)
		if n.State != "" {
			m.State = n.State
		}
	case n.Seq > m.Seq:
		m.State, m.Err, m.Seq = n.State, "", n.Seq
	}
	return m
}

// Watching: the exporter pushes the service's state changes on a follow
// stream; a ping every watchPing (libp2p's, or a connection to a unix
// socket: no request, nothing in the exporter's history) proves the host
// is still there (a partition otherwise shows only when TCP gives up).
// On any failure the proxy is unreachable and the watcher reconnects with
// backoff.
const (
	watchPing       = 5 * time.Second
	watchMinBackoff = 250 * time.Millisecond
	watchMaxBackoff = 15 * time.Second
)

func (p *proxy) watch(ctx context.Context, report func(remoteState)) {
	backoff := watchMinBackoff
	for ctx.Err() == nil {
		began := time.Now()
		err := p.watchOnce(ctx, report)
		if ctx.Err() != nil {
			return
		}
		report(remoteState{Err: err.Error()})
		p.st.line.drop() // most likely on the connection the watcher lost
		if time.Since(began) > 4*watchPing {
			backoff = watchMinBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, watchMaxBackoff)
	}
}

func (p *proxy) watchOnce(ctx context.Context, report func(remoteState)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	status := func() error {
		cctx, ccancel := context.WithTimeout(ctx, watchPing)
		defer ccancel()
		rep, err := p.remoteCall(cctx, wire.Request{Action: "status", Cap: p.st.spec.Remote})
		if err != nil {
			return err
		}
		if !rep.OK {
			return fmt.Errorf("%s: %s", rep.Error.Kind, rep.Error.Message)
		}
		report(answered(rep, nil))
		return nil
	}
	report(remoteState{Reset: true})
	cctx, ccancel := context.WithTimeout(ctx, p.st.env.CallTimeout)
	c, err := p.dial(cctx)
	ccancel()
	if err != nil {
		return fmt.Errorf("unreachable: %w", err)
	}
	defer c.Close()
	streamErr := make(chan error, 1)
	subscribed := make(chan struct{})
	var once sync.Once
	// Ends with ctx or with c, closed when this function returns.
	p.st.env.Go(func() {
		req := wire.Request{Action: "history", Args: []string{"--follow", "--since", "0s"}, Cap: p.st.spec.Remote}
		streamErr <- c.Stream(ctx, req, func(r wire.Reply) error {
			if !r.OK {
				return fmt.Errorf("%s: %s", r.Error.Kind, r.Error.Message)
			}
			once.Do(func() { close(subscribed) })
			// Events come in order, each numbered; the proxy applies the
			// last state of a frame unless an answer to one of its calls
			// (numbered too) told it something newer.
			var evs wire.Events
			json.Unmarshal(r.Result, &evs)
			for _, e := range slices.Backward(evs.Events) {
				if e.Kind == history.KindState {
					report(remoteState{State: e.State, Seq: e.Seq})
					break
				}
			}
			return nil
		})
	})
	// The state is asked once the stream is subscribed (its first reply):
	// a change between the two cannot slip through.
	select {
	case <-subscribed:
	case err := <-streamErr:
		return streamEnded(err)
	case <-time.After(p.st.env.CallTimeout):
		return errors.New("unreachable: no answer to the event stream")
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := status(); err != nil {
		return err
	}
	tick := time.NewTicker(watchPing)
	defer tick.Stop()
	for {
		select {
		case err := <-streamErr:
			return streamEnded(err)
		case <-tick.C:
			pctx, pcancel := context.WithTimeout(ctx, watchPing)
			began := time.Now()
			err := p.st.env.Ping(pctx, p.st.ref)
			pcancel()
			if err != nil {
				return fmt.Errorf("unreachable: no answer to a ping: %w", err)
			}
			report(remoteState{RTT: max(time.Since(began), time.Nanosecond)})
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// streamEnded is why the watcher lost its event stream.
func streamEnded(err error) error {
	if err == nil {
		err = errors.New("the exporter ended the stream")
	}
	return fmt.Errorf("unreachable: %w", err)
}

// changed reports a new mirrored state to the registry and the log.
func (p *proxy) changed(ctx actor.Context, before string) {
	st := p.st
	if st.seen.State == before {
		return
	}
	st.since = time.Now()
	text := "is " + st.seen.State + " (remote)"
	if st.seen.State == wire.StateUnreachable {
		text += ": " + st.seen.Err
	}
	st.env.Logf("service %s %s", st.spec.Name, text)
	if st.env.Historian != nil && reachabilityChanged(before, st.seen.State) {
		e := history.Event{Time: st.since, Service: st.spec.Name, Kind: history.KindProxy, State: st.seen.State}
		if st.seen.State == wire.StateUnreachable {
			e.Message = st.seen.Err
		}
		ctx.Send(st.env.Historian, &historian.Record{Events: []history.Event{e}})
	}
	ctx.Send(st.env.Registry, &service.SummaryUpdate{Summary: p.summary(), Transitions: []wire.LogEntry{{Time: st.since, Service: st.spec.Name, Text: text}}})
}

// answered is the news an answer to a call brings.
func answered(rep wire.Reply, err error) remoteState {
	switch {
	case err != nil:
		return remoteState{Err: err.Error()}
	case !rep.OK:
		return remoteState{Refused: rep.Error.Message}
	}
	var probe struct {
		State   string       `json:"state"`
		Outcome wire.Outcome `json:"outcome"`
	}
	json.Unmarshal(rep.Result, &probe)
	n := remoteState{Answer: true, Seq: rep.Seq, State: probe.State}
	switch {
	case probe.State != "":
	case probe.Outcome == wire.Started || probe.Outcome == wire.AlreadyRunning:
		n.State = wire.StateRunning
	case probe.Outcome == wire.Stopped || probe.Outcome == wire.NotRunning:
		n.State = wire.StateStopped
	}
	return n
}

func (p *proxy) describe(rep wire.Reply, err error) string {
	if err != nil {
		return err.Error()
	}
	if rep.Error != nil {
		return string(rep.Error.Kind) + ": " + rep.Error.Message
	}
	return "remote call failed"
}

// ownStatus is the proxy's status when the exporter gave none.
func (p *proxy) ownStatus(id uint64, state, remoteErr string) wire.Reply {
	return wire.OKReply(id, wire.Status{
		Name: p.st.spec.Name, Provides: []string{}, Requires: []string{}, State: state, Since: p.st.since,
		Enabled: true, Remote: p.st.ref.String(), RemoteError: remoteErr,
	})
}

// localReply renames the remote answer after the local service.
func (p *proxy) localReply(req wire.Request, rep wire.Reply, err error) wire.Reply {
	name := p.st.spec.Name
	if err != nil && req.Action == "status" {
		return p.ownStatus(req.ID, wire.StateUnreachable, err.Error())
	}
	if err != nil {
		return wire.ErrReply(req.ID, &wire.Error{Kind: wire.Unreachable, Service: name, Message: fmt.Sprintf("service %s: %v", name, err)})
	}
	rep.ID = req.ID
	if !rep.OK {
		e := *rep.Error
		e.Service = name
		if e.Kind == wire.StartFailed || e.Kind == wire.DependencyFailed {
			e.Message = fmt.Sprintf("service %s (remote): %s", name, e.Message)
		}
		rep.Error = &e
		return rep
	}
	// Only what decodes as the answer it should be goes on: the exporter
	// is another machine.
	switch req.Action {
	case "status":
		var s wire.Status
		if json.Unmarshal(rep.Result, &s) == nil {
			s.Name, s.Provides, s.Requires = name, []string{}, []string{}
			s.Remote = p.st.ref.String()
			return wire.OKReply(req.ID, s)
		}
		return p.ownStatus(req.ID, p.st.seen.State, "the exporter's answer to status is malformed")
	case "kill":
		var k wire.KillResult
		if json.Unmarshal(rep.Result, &k) == nil {
			// The PIDs are the exporter's, on its machine.
			k.Service = name
			return wire.OKReply(req.ID, k)
		}
	default:
		var r wire.ActionResult
		if json.Unmarshal(rep.Result, &r) == nil {
			// The exporter's own steps (its requirements) are its business.
			r.Service, r.Steps = name, []wire.Step{{Service: name, Outcome: r.Outcome}}
			return wire.OKReply(req.ID, r)
		}
	}
	return wire.ErrReply(req.ID, &wire.Error{Kind: wire.Unreachable, Service: name,
		Message: fmt.Sprintf("service %s: the exporter's answer to %s is malformed", name, req.Action)})
}

// reachabilityChanged says whether a change of the mirrored state from
// before to after lost the exporter or reached it again: only those are
// recorded, as the remote service's own changes are in its daemon's
// history, and an exporter that flips its state in every frame must not
// fill ours.
func reachabilityChanged(before, after string) bool {
	return (before == wire.StateUnreachable) != (after == wire.StateUnreachable)
}
