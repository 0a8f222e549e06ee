package timer

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/registry"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/timing"
)

// Board is where the daemon finds its timers: each timer actor tells it
// what `herd timers` shows of it, and the board sends `herd trigger` to
// the actor. It serves `timers`, `trigger` and `schedule`, which need
// the daemon's own authority (the API layer checks it).
type Board struct {
	// Send sends to an actor from outside; Registry makes the
	// transients of `herd schedule`. Set before the first request.
	Send     func(pid *actor.PID, msg any)
	Registry *actor.PID
	// Now stands in for the clock in tests; nil: time.Now.
	Now func() time.Time

	mu     sync.Mutex
	timers map[string]boardEntry // guarded by mu
}

type boardEntry struct {
	pid  *actor.PID
	info wire.TimerInfo
}

func (b *Board) set(name string, pid *actor.PID, info wire.TimerInfo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timers == nil {
		b.timers = map[string]boardEntry{}
	}
	b.timers[name] = boardEntry{pid: pid, info: info}
}

// remove forgets name's timer if pid is still the one the board knows
// (a timer made again under the name may have told it first).
func (b *Board) remove(name string, pid *actor.PID) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.timers[name]; ok && e.pid.Equal(pid) {
		delete(b.timers, name)
	}
}

// List is every timer, by next firing (those that never fire again
// last), then by name.
func (b *Board) List() wire.TimersResult {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	b.mu.Lock()
	res := wire.TimersResult{Now: now(), Timers: make([]wire.TimerInfo, 0, len(b.timers))}
	for _, e := range b.timers {
		res.Timers = append(res.Timers, e.info)
	}
	b.mu.Unlock()
	slices.SortFunc(res.Timers, func(x, y wire.TimerInfo) int {
		switch {
		case x.Next.IsZero() != y.Next.IsZero():
			if x.Next.IsZero() {
				return 1
			}
			return -1
		case !x.Next.Equal(y.Next):
			return x.Next.Compare(y.Next)
		}
		return compareStrings(x.Service, y.Service)
	})
	return res
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Handles says whether the board serves req.
func Handles(req wire.Request) bool {
	return req.Service == "" && (req.Action == "timers" || req.Action == "trigger" || req.Action == "schedule")
}

// answerWait bounds the wait for a timer actor's or the registry's answer.
const answerWait = 5 * time.Second

// Serve answers `timers`, `trigger NAME` (the name in Args) and
// `schedule` (a SpawnArgs with At in Args) for a caller with the
// daemon's own authority; who names the caller for history.
func (b *Board) Serve(ctx context.Context, req wire.Request, who string) wire.Reply {
	switch req.Action {
	case "timers":
		return wire.OKReply(req.ID, b.List())
	case "trigger":
		return b.trigger(ctx, req)
	case "schedule":
		return b.schedule(ctx, req, who)
	}
	return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "timers: unknown action %q", req.Action))
}

func (b *Board) trigger(ctx context.Context, req wire.Request) wire.Reply {
	if len(req.Args) != 1 {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "trigger: expected one service (herd trigger NAME)"))
	}
	name := req.Args[0]
	b.mu.Lock()
	e, ok := b.timers[name]
	b.mu.Unlock()
	if !ok {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "service '%s' has no timer (herd timers lists them; herd start runs any service)", name))
	}
	ch := make(chan timing.Action, 1)
	b.Send(e.pid, &Trigger{Reply: ch})
	ctx, cancel := context.WithTimeout(ctx, answerWait)
	defer cancel()
	select {
	case act := <-ch:
		return wire.OKReply(req.ID, wire.TriggerResult{Service: name, Action: act.String()})
	case <-ctx.Done():
		return wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "trigger %s: its timer did not answer (it may have been unloaded)", name))
	}
}

func (b *Board) schedule(ctx context.Context, req wire.Request, who string) wire.Reply {
	var args wire.SpawnArgs
	if len(req.Args) != 1 || json.Unmarshal([]byte(req.Args[0]), &args) != nil || args.At.IsZero() {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "schedule: malformed arguments"))
	}
	args.Wait, args.Respawn = false, false
	started := make(chan wire.Reply, 1)
	b.Send(b.Registry, &registry.Spawn{Args: args, Who: who, ReqID: req.ID, Started: started, End: make(chan registry.SpawnEnd, 1), Gone: ctx.Done()})
	ctx, cancel := context.WithTimeout(ctx, answerWait)
	defer cancel()
	select {
	case rep := <-started:
		if !rep.OK {
			return rep
		}
		var ar wire.ActionResult
		if err := json.Unmarshal(rep.Result, &ar); err != nil {
			return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "schedule: %v", err))
		}
		return wire.OKReply(req.ID, wire.ScheduleResult{Service: ar.Service, At: args.At})
	case <-ctx.Done():
		return wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "schedule: the daemon did not answer in %v", answerWait))
	}
}

// Factory is the registry's Env.Timers: the timer actors, all telling
// this board.
func (b *Board) Factory(env Env) func(s *services.Spec, controller *actor.PID) *actor.Props {
	env.Board = b
	return func(s *services.Spec, controller *actor.PID) *actor.Props { return NewProps(env, s, controller) }
}
