package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/fleet/relay"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// RelayExec runs argv on hosts (all behind relay) and calls each for
// every host's result as it comes; every host gets exactly one.
type RelayExec func(ctx context.Context, relay *Host, hosts []*Host, argv []string, timeout time.Duration, each func(Result))

// RunVia is Run for an inventory where some hosts sit behind relays
// (Host.Relay): the direct hosts run as Run runs them, the hosts behind
// each relay go in one relayed call per relay (in chunks of
// relay.MaxHosts), all at once; results come back in host order, each
// called as it arrives.
func RunVia(ctx context.Context, hosts []*Host, argv []string, fanout int, timeout time.Duration, exec Exec, viaRelay RelayExec, each func(Result)) []Result {
	var direct []*Host
	behind := map[*Host][]*Host{}
	var relays []*Host
	for _, h := range hosts {
		if h.Relay == nil {
			direct = append(direct, h)
			continue
		}
		if behind[h.Relay] == nil {
			relays = append(relays, h.Relay)
		}
		behind[h.Relay] = append(behind[h.Relay], h)
	}
	if len(relays) == 0 {
		return Run(ctx, hosts, argv, fanout, timeout, exec, each)
	}
	byName := map[string]Result{}
	var mu sync.Mutex
	got := func(r Result) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := byName[r.Host]; dup {
			return
		}
		byName[r.Host] = r
		if each != nil {
			each(r)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { Run(ctx, direct, argv, fanout, timeout, exec, got) })
	for _, r := range relays {
		hs := behind[r]
		for len(hs) > 0 {
			n := min(len(hs), relay.MaxHosts)
			chunk := hs[:n]
			hs = hs[n:]
			wg.Go(func() { viaRelay(ctx, r, chunk, argv, timeout, got) })
		}
	}
	wg.Wait()
	out := make([]Result, len(hosts))
	for i, h := range hosts {
		r, ok := byName[h.Name]
		if !ok {
			r = Result{Host: h.Name, ExitCode: -1, Kind: string(wire.Unreachable), Err: "no answer (internal error: the host was not run)"}
		}
		out[i] = r
	}
	return out
}

// ShepherdRelayExec runs commands on hosts behind a relay shepherd,
// through the local daemon at socket: one relay-exec request presenting
// the relay's capability, with the hosts' own exec sturdyrefs, whose
// grouped answers stream back. A host the relay did not answer for by
// the end of the stream (the relay died, or the run's deadline passed)
// is unreachable, and says through which relay.
func ShepherdRelayExec(socket string) RelayExec {
	return func(ctx context.Context, r *Host, hosts []*Host, argv []string, timeout time.Duration, each func(Result)) {
		started := time.Now()
		pending := map[string]bool{}
		targets := make([]relay.Host, len(hosts))
		for i, h := range hosts {
			targets[i] = relay.Host{Name: h.Name, Ref: h.Address}
			pending[h.Name] = true
		}
		// The relay's hosts each have timeout; reaching the relay and
		// the relay reaching them is bounded too.
		ctx, cancel := context.WithTimeout(ctx, timeout+15*time.Second)
		defer cancel()
		fail := func(kind, msg string) {
			for _, h := range hosts {
				if pending[h.Name] {
					each(Result{Host: h.Name, ExitCode: -1, Kind: kind, Err: msg, Duration: time.Since(started).Seconds()})
				}
			}
		}
		c, err := local.Dial(ctx, socket)
		if err != nil {
			fail(string(wire.Unreachable), "the local shepherd relays fleet calls: "+err.Error())
			return
		}
		defer c.Close()
		var refused *wire.Error
		err = c.Stream(ctx, wire.Request{Action: relay.Action, Args: relay.Args(targets, argv, timeout), Cap: r.Address}, func(rep wire.Reply) error {
			if !rep.OK {
				refused = rep.Error
				return nil
			}
			var b relay.Batch
			if err := json.Unmarshal(rep.Result, &b); err != nil {
				return fmt.Errorf("relay %s: a malformed batch: %v", r.Name, err)
			}
			for _, g := range b.Groups {
				for _, name := range g.Hosts {
					if !pending[name] {
						continue // not ours: a relay answers only for what it was asked
					}
					delete(pending, name)
					each(Result{Host: name, Output: g.Output, ExitCode: g.ExitCode, Kind: g.Kind, Err: g.Err, Duration: time.Since(started).Seconds()})
				}
			}
			return nil
		})
		switch {
		case refused != nil:
			fail(string(refused.Kind), fmt.Sprintf("relay %s: %s", r.Name, refused.Message))
		case err != nil && errors.Is(err, context.DeadlineExceeded):
			fail(string(wire.Unreachable), fmt.Sprintf("relay %s: no answer within the deadline", r.Name))
		case err != nil:
			fail(string(wire.Unreachable), fmt.Sprintf("relay %s: %v", r.Name, err))
		default:
			fail(string(wire.Unreachable), fmt.Sprintf("relay %s ended the run without an answer for the host", r.Name))
		}
	}
}
