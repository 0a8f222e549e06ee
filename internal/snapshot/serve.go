package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/execrunner"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Timeout bounds the gathering on a host.
const Timeout = 30 * time.Second

// Runner runs a fixed command (argv) on the host and returns its output;
// the daemon's runs through its reaper and bounds the output.
type Runner func(ctx context.Context, argv []string) ([]byte, error)

// Serve answers the read target's snapshot action (no arguments): the
// script run with run, and the shepherd's services from status (the
// daemon's `status` reply, which Serve reads as wire.StatusAll).
func Serve(ctx context.Context, req wire.Request, run Runner, status func(context.Context) (json.RawMessage, error)) wire.Reply {
	if len(req.Args) != 0 {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "snapshot takes no arguments"))
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	out, err := run(ctx, []string{"sh", "-c", Script})
	if err != nil {
		return wire.ErrReply(req.ID, wire.Errorf(wire.StartFailed, "snapshot: the gathering script failed: %v", err))
	}
	h := Parse(out)
	h.Time = time.Now()
	if raw, err := status(ctx); err == nil {
		h.Services = ServicesOf(raw)
	}
	return wire.OKReply(req.ID, h)
}

// ServicesOf reads the services and states of a `status` reply.
func ServicesOf(raw json.RawMessage) []Service {
	var all wire.StatusAll
	out := []Service{}
	if json.Unmarshal(raw, &all) != nil {
		return out
	}
	for _, s := range all.Services {
		out = append(out, Service{Name: clip(s.Name), State: clip(s.State)})
	}
	slices.SortFunc(out, func(a, b Service) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ExecRunner is a Runner that spawns through the daemon's exec runner
// (spawn: its reaper, its environment; output bounded by
// execrunner.MaxOutput) and kills the command when ctx ends (send).
func ExecRunner(root *actor.RootContext, spawn func([]string, chan<- execrunner.Result) *actor.PID) Runner {
	return func(ctx context.Context, argv []string) ([]byte, error) {
		results := make(chan execrunner.Result, 1)
		pid := spawn(argv, results)
		select {
		case res := <-results:
			if res.Err == nil && res.Status.Code != 0 {
				res.Err = fmt.Errorf("exit %d", res.Status.Code)
			}
			return res.Output, res.Err
		case <-ctx.Done():
			root.Send(pid, &execrunner.Kill{})
			return nil, ctx.Err()
		}
	}
}
