package actors

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// remoteCallTimeout bounds every call to an exporting daemon: an
// unreachable host is an error, never a hang.
const remoteCallTimeout = 10 * time.Second

// proxy is a `remote:` service: a local name for a service another daemon
// exports through a capability. Its actions are calls to that daemon,
// made with the capability, each in a goroutine of its own so the proxy
// never blocks; its state is the last state the exporter reported.
type proxy struct{ st *proxyState }

type proxyState struct {
	d     *Daemon
	spec  *services.Spec
	ref   capability.Sturdyref
	state string // last known remote state, or "unreachable"
	err   string // the last call's error
}

// remoteDone carries the answer of a remote call back into the proxy.
type remoteDone struct {
	rep  wire.Reply
	err  error
	then func(wire.Reply, error)
}

func newProxyProps(d *Daemon, s *services.Spec) (*actor.Props, error) {
	ref, err := capability.ParseSturdyref(s.Remote)
	if err != nil {
		return nil, err
	}
	st := &proxyState{d: d, spec: s, ref: ref, state: wire.StateStopped}
	return actor.PropsFromProducer(func() actor.Actor { return &proxy{st: st} }), nil
}

func (p *proxy) summary() wire.Summary {
	return wire.Summary{Name: p.st.spec.Name, State: p.st.state, Enabled: true}
}

func (p *proxy) Receive(ctx actor.Context) {
	st := p.st
	switch msg := ctx.Message().(type) {
	case *svcRequest:
		req := msg.Req
		p.call(ctx, req.Action, req.Args, func(rep wire.Reply, err error) {
			msg.Reply <- p.localReply(req, rep, err)
		})
	case *peerRequest:
		action := "start"
		if msg.Op == services.PeerStop {
			action = "stop"
		}
		from := msg.From
		p.call(ctx, action, nil, func(rep wire.Reply, err error) {
			r := services.Result{Outcome: services.OutStarted, Steps: []services.Step{{Service: st.spec.Name, Outcome: services.OutStarted}}}
			switch {
			case err != nil || !rep.OK:
				r = services.Result{Outcome: services.OutFailed, Reason: p.describe(rep, err)}
			case action == "stop":
				r = services.Result{Outcome: services.OutStopped, Steps: []services.Step{{Service: st.spec.Name, Outcome: services.OutStopped}}}
			}
			ctx.Send(from, &peerReply{Name: st.spec.Name, Op: msg.Op, Result: r})
		})
	case *setDependents:
	case *remoteDone:
		p.observe(msg.rep, msg.err)
		ctx.Send(st.d.registry, &summaryUpdate{Summary: p.summary()})
		msg.then(msg.rep, msg.err)
	}
}

// call sends action to the exporter with the capability, off the mailbox.
func (p *proxy) call(ctx actor.Context, action string, args []string, then func(wire.Reply, error)) {
	st := p.st
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	socket := ""
	for _, a := range st.ref.Addrs {
		if path, ok := strings.CutPrefix(a, "/unix"); ok {
			socket = path
		}
	}
	st.d.goGo(func() {
		if socket == "" {
			send(self, &remoteDone{err: fmt.Errorf("unreachable: %s has no /unix address; the libp2p network layer is not supported yet", st.ref.Peer), then: then})
			return
		}
		cctx, cancel := context.WithTimeout(context.Background(), remoteCallTimeout)
		defer cancel()
		c, err := local.Dial(cctx, socket)
		if err != nil {
			send(self, &remoteDone{err: fmt.Errorf("unreachable: %w", err), then: then})
			return
		}
		defer c.Close()
		rep, err := c.Call(cctx, wire.Request{Action: action, Args: args, Cap: st.spec.Remote})
		send(self, &remoteDone{rep: rep, err: err, then: then})
	})
}

// observe updates the mirrored state from an answer.
func (p *proxy) observe(rep wire.Reply, err error) {
	st := p.st
	switch {
	case err != nil:
		st.state, st.err = "unreachable", err.Error()
	case !rep.OK:
		st.err = rep.Error.Message
	default:
		st.err = ""
		var probe struct {
			State   string       `json:"state"`
			Outcome wire.Outcome `json:"outcome"`
		}
		json.Unmarshal(rep.Result, &probe)
		switch {
		case probe.State != "":
			st.state = probe.State
		case probe.Outcome == wire.Started || probe.Outcome == wire.AlreadyRunning:
			st.state = wire.StateRunning
		case probe.Outcome == wire.Stopped || probe.Outcome == wire.NotRunning:
			st.state = wire.StateStopped
		}
	}
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

// localReply renames the remote answer after the local service.
func (p *proxy) localReply(req wire.Request, rep wire.Reply, err error) wire.Reply {
	name := p.st.spec.Name
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
	switch req.Action {
	case "status":
		var s wire.Status
		if json.Unmarshal(rep.Result, &s) == nil {
			s.Name, s.Provides, s.Requires = name, []string{}, []string{}
			s.Remote = p.st.ref.String()
			return wire.OKReply(req.ID, s)
		}
	default:
		var r wire.ActionResult
		if json.Unmarshal(rep.Result, &r) == nil {
			// The exporter's own steps (its requirements) are its business.
			r.Service, r.Steps = name, []wire.Step{{Service: name, Outcome: r.Outcome}}
			return wire.OKReply(req.ID, r)
		}
	}
	return rep
}
