package group

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// A service after a group waits while the group starts (services/order.go):
// the group counts its starts in progress, and answers a PeerAwait once
// none is left. Without a start of the group in progress, it asks each
// instance (one may be starting on its own, or respawning) as a service
// after it would.

// startEnded says a start (or restart) of the group has ended.
type startEnded struct{}

// tracked counts a start or restart of the group until done has run.
func (g *group) tracked(ctx actor.Context, action string, done func(wire.Reply)) func(wire.Reply) {
	if action != "start" && action != "restart" {
		return done
	}
	g.st.starts++
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	return func(rep wire.Reply) {
		done(rep)
		send(self, &startEnded{})
	}
}

func (g *group) startEnded(ctx actor.Context) {
	st := g.st
	if st.starts--; st.starts > 0 {
		return
	}
	for _, from := range st.awaiting {
		ctx.Send(from, g.awaitReply())
	}
	st.awaiting = nil
}

func (g *group) awaitReply() *service.PeerReply {
	return &service.PeerReply{Name: g.st.spec.Name, Op: lifecycle.PeerAwait, Result: lifecycle.Result{Outcome: lifecycle.OutNotRunning}}
}

// await answers from once the group's starts in progress have ended, or
// once none of its instances is starting.
func (g *group) await(ctx actor.Context, from *actor.PID) {
	st := g.st
	if st.starts > 0 {
		st.awaiting = append(st.awaiting, from)
		return
	}
	instances := append([]string(nil), st.instances...)
	send, rep := ctx.ActorSystem().Root.Send, g.awaitReply()
	st.env.Go(func() {
		for _, i := range instances {
			// An instance removed meanwhile (scale) never answers.
			cctx, cancel := st.env.Context(groupCallTimeout)
			service.Ask(cctx, st.env.Send, service.ControllerPID(st.env.Registry, i), func(ch chan<- wire.Reply) any {
				return &service.AwaitStart{Reply: ch}
			})
			cancel()
		}
		send(from, rep)
	})
}
