package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

const (
	// Action is the request a relay serves.
	Action = "relay-exec"
	// Target is the capability target of a relay capability (actions:
	// relay-exec): who may make the relay call hosts for them.
	Target = "relay"
	// MaxHosts bounds the hosts of one request (their sturdyrefs fit in
	// a frame, wire.MaxFrame).
	MaxHosts = 2500
	// DefaultFanout is how many hosts a relay calls at once: with kept
	// connections and streams, 256 keep a relay's cores busy
	// (docs/scale.md).
	DefaultFanout = 256
	// flushEvery and flushBytes decide when a batch goes back: what
	// came within flushEvery, or sooner once it is this big.
	flushEvery = 100 * time.Millisecond
	flushBytes = 256 << 10
	// MaxOutput is the most of one group's output a batch carries; the
	// rest is cut, and the output says so.
	MaxOutput = 64 << 10
)

// Host is one host behind a relay: its inventory name and the holder's
// exec sturdyref for it.
type Host struct {
	Name string `json:"name"`
	Ref  string `json:"ref"`
}

// Group is the hosts of a batch that answered alike.
type Group struct {
	Hosts    []string `json:"hosts"`
	Output   string   `json:"output,omitempty"`
	ExitCode int      `json:"exit_code"`
	Kind     string   `json:"kind,omitempty"`
	Err      string   `json:"error,omitempty"`
}

// Batch is one reply of a relay: the groups of the hosts that answered
// since the last one. The last reply (More false) ends the run.
type Batch struct {
	Groups []Group `json:"groups"`
}

// Args are the arguments of a relay-exec request: the hosts (JSON), then
// those of exec ([--timeout D] -- ARGV).
func Args(hosts []Host, argv []string, timeout time.Duration) []string {
	b, _ := json.Marshal(hosts)
	return append([]string{string(b), "--timeout", timeout.String(), "--"}, argv...)
}

// ExecArgs are the exec arguments of a relay-exec request (nil if it has
// none).
func ExecArgs(req wire.Request) []string {
	if req.Action != Action || len(req.Args) < 1 {
		return nil
	}
	return req.Args[1:]
}

// Parse reads a relay-exec request's hosts.
func Parse(req wire.Request) ([]Host, error) {
	if len(req.Args) < 2 {
		return nil, errors.New("relay-exec: expected HOSTS --timeout D -- ARGV")
	}
	var hosts []Host
	if err := json.Unmarshal([]byte(req.Args[0]), &hosts); err != nil {
		return nil, fmt.Errorf("relay-exec: the hosts are not a JSON list of {name, ref}: %v", err)
	}
	if len(hosts) == 0 || len(hosts) > MaxHosts {
		return nil, fmt.Errorf("relay-exec: %d hosts; a relay takes 1 to %d in one request", len(hosts), MaxHosts)
	}
	return hosts, nil
}

// Fold groups answers alike (output, exit, error), in host order within
// a group and groups in order of their first host; outputs longer than
// MaxOutput are cut.
func Fold(answers []Answer) []Group {
	type key struct {
		out, kind, err string
		code           int
	}
	idx := map[key]int{}
	var groups []Group
	sort.SliceStable(answers, func(i, j int) bool { return answers[i].Host < answers[j].Host })
	for _, a := range answers {
		out := a.Output
		if len(out) > MaxOutput {
			out = out[:MaxOutput] + fmt.Sprintf("\n[relay: output cut at %d of %d bytes]\n", MaxOutput, len(a.Output))
		}
		k := key{out, a.Kind, a.Err, a.ExitCode}
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, Group{Output: out, ExitCode: a.ExitCode, Kind: a.Kind, Err: a.Err})
		}
		groups[i].Hosts = append(groups[i].Hosts, a.Host)
	}
	return groups
}

// Answer is one host's answer, as the relay got it.
type Answer struct {
	Host     string
	Output   string
	ExitCode int
	Kind     string
	Err      string
}

// size is about what an answer weighs in a batch.
func (a Answer) size() int { return len(a.Host) + len(a.Output) + len(a.Err) + 16 }

// Env is what a relay needs of its daemon.
type Env struct {
	// Dial opens a control connection to the daemon that exported ref
	// (over libp2p).
	Dial func(ctx context.Context, ref capability.Sturdyref) (*local.Client, error)
	// Fanout: hosts called at once (0: DefaultFanout).
	Fanout int
	// CallTimeout bounds reaching a host, beyond the command's timeout.
	CallTimeout time.Duration
}

// Serve calls every host of req (checked already: the caller holds a
// relay capability of this daemon) and streams the answers back grouped.
func Serve(ctx context.Context, env Env, req wire.Request, execArgs func([]string) ([]string, time.Duration, error), out local.Responder) {
	hosts, err := Parse(req)
	var timeout time.Duration
	if err == nil {
		_, timeout, err = execArgs(ExecArgs(req))
	}
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)))
		return
	}
	if env.Fanout <= 0 {
		env.Fanout = DefaultFanout
	}
	if env.CallTimeout <= 0 {
		env.CallTimeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make(chan Answer, env.Fanout)
	var wg sync.WaitGroup
	sem := make(chan struct{}, env.Fanout)
	wg.Go(func() {
		for _, h := range hosts {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				defer func() { <-sem }()
				a := call(ctx, env, h, ExecArgs(req), timeout)
				select {
				case answers <- a:
				case <-ctx.Done():
				}
			})
		}
	})
	go func() { wg.Wait(); close(answers) }()
	var pending []Answer
	size := 0
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	flush := func(more bool) bool {
		if len(pending) == 0 && more {
			return true
		}
		r := wire.OKReply(req.ID, Batch{Groups: Fold(pending)})
		r.More = more
		pending, size = pending[:0], 0
		return out.Send(r)
	}
	for {
		select {
		case a, ok := <-answers:
			if !ok {
				flush(false)
				return
			}
			pending = append(pending, a)
			if size += a.size(); size >= flushBytes && !flush(true) {
				return // the caller went away: cancel ends the calls
			}
		case <-tick.C:
			if !flush(true) {
				return
			}
		}
	}
}

// call runs the command on one host with the holder's sturdyref, marked
// relayed: the host checks it as presented by anyone.
func call(ctx context.Context, env Env, h Host, execArgs []string, timeout time.Duration) Answer {
	a := Answer{Host: h.Name, ExitCode: -1}
	ref, err := capability.ParseSturdyref(h.Ref)
	if err != nil {
		a.Kind, a.Err = string(wire.BadRequest), fmt.Sprintf("host %s: the sturdyref: %v", h.Name, err)
		return a
	}
	dctx, cancel := context.WithTimeout(ctx, env.CallTimeout)
	c, err := env.Dial(dctx, ref)
	cancel()
	if err != nil {
		a.Kind, a.Err = string(wire.Unreachable), fmt.Sprintf("daemon %s is unreachable from the relay: %v", ref.Peer, err)
		return a
	}
	defer c.Close()
	cctx, cancel := context.WithTimeout(ctx, timeout+env.CallTimeout)
	defer cancel()
	rep, err := c.Call(cctx, wire.Request{Action: "exec", Args: execArgs, Cap: h.Ref, Relayed: true})
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		a.Kind, a.Err = string(wire.Timeout), err.Error()
	case err != nil:
		a.Kind, a.Err = string(wire.Unreachable), err.Error()
	case !rep.OK:
		a.Kind, a.Err = string(rep.Error.Kind), rep.Error.Message // word for word
	default:
		var er wire.ExecResult
		if err := json.Unmarshal(rep.Result, &er); err != nil {
			a.Kind, a.Err = "bad-reply", err.Error()
			break
		}
		a.Output, a.ExitCode = er.Output, er.ExitCode
		if er.TimedOut {
			a.Kind, a.Err = string(wire.Timeout), "timed out after "+timeout.String()
		}
	}
	return a
}
