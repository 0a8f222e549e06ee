package group

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// group is a service with `instances`: it owns no process, it stands for
// its instances NAME.1 .. NAME.N, each a service with its own controller.
// Starting the group starts every instance, stopping it stops its
// dependents then every instance. The fan-outs run in goroutines that talk
// to the instances as a client would, so the group never blocks.
type group struct{ st *groupState }

type groupState struct {
	env        service.Env
	spec       *services.Spec
	instances  []string
	dependents []string
	// declared is the number of instances its file says (0: not told).
	declared int
	// starts counts the group's starts in progress; awaiting are the
	// services after it waiting for them to end (await.go).
	starts   int
	awaiting []*actor.PID
}

// groupCallTimeout bounds one start or stop of an instance, stop-timeouts
// and requirements included.
const groupCallTimeout = 5 * time.Minute

// SetInstances tells a group its instances (after a scale), and the
// number its file declares: status says when they differ.
type SetInstances struct {
	Names    []string
	Declared int
}

// NewProps makes the actor of a group of instances (a service with
// `instances`), at the group's name.
func NewProps(env service.Env, s *services.Spec, instances []string) *actor.Props {
	st := &groupState{env: env, spec: s, instances: instances}
	return actor.PropsFromProducer(func() actor.Actor { return &group{st: st} })
}

func (g *group) Receive(ctx actor.Context) {
	st := g.st
	switch msg := ctx.Message().(type) {
	case *SetInstances:
		st.instances, st.declared = msg.Names, msg.Declared
	case *service.SetDependents:
		st.dependents = msg.Names
	case *service.ReplaceSpec:
		// A group has no process: its new definition applies at once
		// (its instances get theirs from the registry).
		st.spec = msg.Spec
	case *service.Request:
		g.serve(ctx, msg)
	case *service.PeerRequest:
		if msg.Op == lifecycle.PeerAwait {
			g.await(ctx, msg.From)
			return
		}
		action := "start"
		if msg.Op == lifecycle.PeerStop {
			action = "stop"
		}
		from, op, send := msg.From, msg.Op, ctx.ActorSystem().Root.Send
		g.run(action, g.tracked(ctx, action, func(rep wire.Reply) {
			if !rep.OK {
				send(from, &service.PeerReply{Name: st.spec.Name, Op: op, Result: lifecycle.Result{Outcome: lifecycle.OutFailed, Reason: rep.Error.Message}})
				return
			}
			// The instances' steps show through, as a controller's would.
			var res wire.ActionResult
			json.Unmarshal(rep.Result, &res)
			r := lifecycle.Result{Outcome: lifecycle.OutStarted}
			if op == lifecycle.PeerStop {
				r.Outcome = lifecycle.OutStopped
			}
			for _, step := range res.Steps {
				if o, ok := outcomes[step.Outcome]; ok {
					r.Steps = append(r.Steps, lifecycle.Step{Service: step.Service, Outcome: o})
				}
			}
			send(from, &service.PeerReply{Name: st.spec.Name, Op: op, Result: r})
		}))
	case *startEnded:
		g.startEnded(ctx)
	}
}

func (g *group) serve(ctx actor.Context, msg *service.Request) {
	st := g.st
	req := msg.Req
	switch req.Action {
	case "start", "stop", "restart", "enable", "disable":
		g.run(req.Action, g.tracked(ctx, req.Action, func(rep wire.Reply) {
			rep.ID = req.ID
			msg.Reply <- rep
		}))
	case "status":
		instances, declared := append([]string(nil), st.instances...), st.declared
		st.env.Go(func() { msg.Reply <- g.status(req.ID, instances, declared) })
	case "doc":
		msg.Reply <- wire.OKReply(req.ID, wire.Doc{Service: st.spec.Name, Documentation: st.spec.Documentation})
	default:
		msg.Reply <- wire.ErrReply(req.ID, &wire.Error{Kind: wire.ActionNotFound, Service: st.spec.Name, Action: req.Action,
			Message: fmt.Sprintf("service '%s' does not have an action '%s' (run it on an instance: %s.1)", st.spec.Name, req.Action, st.spec.Name)})
	}
}

// run performs action on the group in a goroutine and hands the combined
// reply to done. Stop takes the group's dependents down first.
func (g *group) run(action string, done func(wire.Reply)) {
	st := g.st
	name := st.spec.Name
	instances := append([]string(nil), st.instances...)
	dependents := append([]string(nil), st.dependents...)
	st.env.Go(func() {
		var steps []wire.Step
		call := func(svc, act string) wire.Reply {
			// An instance removed meanwhile (scale) never answers: do not
			// wait for it forever.
			cctx, cancel := st.env.Context(groupCallTimeout)
			defer cancel()
			rep, err := service.Ask(cctx, st.env.Send, service.ControllerPID(st.env.Registry, svc), func(ch chan<- wire.Reply) any {
				return &service.Request{Req: wire.Request{Action: act, Service: svc}, Who: "group " + name, Reply: ch}
			})
			if err != nil {
				return wire.ErrReply(0, wire.Errorf(wire.Timeout, "%v", err))
			}
			var res wire.ActionResult
			if json.Unmarshal(rep.Result, &res) == nil {
				steps = append(steps, res.Steps...)
			}
			return rep
		}
		fail := func(rep wire.Reply, svc string) {
			done(wire.ErrReply(0, &wire.Error{Kind: wire.StartFailed, Service: name,
				Message: fmt.Sprintf("%s of service %s failed: %s: %s", action, name, svc, rep.Error.Message)}))
		}
		if action == "stop" || action == "restart" {
			for _, d := range dependents {
				call(d, "stop")
			}
			for _, i := range instances {
				if rep := call(i, "stop"); !rep.OK {
					fail(rep, i)
					return
				}
			}
		}
		if action == "start" || action == "restart" || action == "enable" || action == "disable" {
			act := action
			if act == "restart" {
				act = "start"
			}
			var failed []string
			var first wire.Reply
			for _, i := range instances {
				if rep := call(i, act); !rep.OK {
					if len(failed) == 0 {
						first = rep
					}
					failed = append(failed, i)
				}
			}
			if len(failed) > 0 {
				first.Error.Message = strings.Join(failed, " ") + ": " + first.Error.Message
				fail(first, strings.Join(failed, " "))
				return
			}
		}
		outcome := map[string]wire.Outcome{"start": wire.Started, "restart": wire.Started, "stop": wire.Stopped,
			"enable": wire.Enabled, "disable": wire.Disabled}[action]
		done(wire.OKReply(0, wire.ActionResult{Service: name, Outcome: outcome, Steps: steps}))
	})
}

// status combines the instances' status into the group's.
func (g *group) status(id uint64, instances []string, declared int) wire.Reply {
	st := g.st
	s := st.spec
	out := wire.Status{
		Name: s.Name, Provides: s.Provides, Requires: s.Requires, Documentation: s.Documentation,
		Command: s.Command, Respawn: s.Respawn, Enabled: true, Instances: []wire.Instance{},
	}
	if out.Provides == nil {
		out.Provides = []string{}
	}
	if out.Requires == nil {
		out.Requires = []string{}
	}
	states := map[string]int{}
	for _, i := range instances {
		cctx, cancel := st.env.Context(10 * time.Second)
		rep, err := service.Ask(cctx, st.env.Send, service.ControllerPID(st.env.Registry, i), func(ch chan<- wire.Reply) any {
			return &service.Request{Req: wire.Request{Action: "status", Service: i, Args: []string{"-n", "0"}}, Reply: ch}
		})
		cancel()
		var is wire.Status
		if err != nil || !rep.OK || json.Unmarshal(rep.Result, &is) != nil {
			continue
		}
		out.Instances = append(out.Instances, wire.Instance{Name: i, State: is.State, PID: is.PID})
		states[is.State]++
		out.Enabled = out.Enabled && is.Enabled
		if out.Since.IsZero() || is.Since.After(out.Since) {
			out.Since = is.Since
		}
	}
	out.State = CombinedState(states, len(instances))
	if declared > 0 && declared != len(instances) {
		out.DeclaredInstances = declared
	}
	return wire.OKReply(id, out)
}

// outcomes maps the protocol's outcomes back to the machine's.
var outcomes = map[wire.Outcome]lifecycle.Outcome{
	wire.Started: lifecycle.OutStarted, wire.AlreadyRunning: lifecycle.OutAlreadyRunning,
	wire.Stopped: lifecycle.OutStopped, wire.NotRunning: lifecycle.OutNotRunning,
}

// CombinedState is a group's state from its instances': running when all
// run, else the most telling of the others.
func CombinedState(states map[string]int, n int) string {
	switch {
	case n > 0 && states[wire.StateRunning] == n:
		return wire.StateRunning
	case states[wire.StateFailed] > 0:
		return wire.StateFailed
	case states[wire.StateStarting] > 0:
		return wire.StateStarting
	case states[wire.StateStopping] > 0:
		return wire.StateStopping
	case states[wire.StateRunning] > 0:
		return wire.StateStarting
	}
	return wire.StateStopped
}
