package daemon

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/actors/service"

	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/internal/proc"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"golang.org/x/sys/unix"
)

// The built-in exec target (herd fleet exec): a command line that an exec
// capability allows runs under the daemon's own identity, through the
// monitor like any process, with stdin on /dev/null and its output (stdout
// and stderr together) captured up to maxExecOutput. A timeout kills its
// process group.

const (
	maxExecOutput      = 1 << 20
	defaultExecTimeout = time.Minute
)

// execRunner owns one exec'd process: it asks the monitor to start it and
// hears of its start and exit, like a controller of a one-off service.
type execRunner struct {
	monitor *actor.PID
	env     []string
	argv    []string
	result  chan<- execResult
	pid     int
	handle  *proc.Handle // closed once the exit is seen
	killed  bool
	output  []byte
	status  *services.ExitStatus
}

type execResult struct {
	PID    int
	Output []byte
	Status services.ExitStatus
	Err    error
}

func (r *execRunner) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		ctx.Send(r.monitor, &monitor.Spawn{Argv: r.argv, Env: r.env, Owner: ctx.Self()})
	case *monitor.Spawned:
		if msg.Err != nil {
			r.result <- execResult{Err: msg.Err}
			ctx.Stop(ctx.Self())
			return
		}
		r.pid, r.handle = msg.PID, msg.Handle
		if r.killed {
			r.handle.SignalGroup(unix.SIGKILL)
		}
		self, send := ctx.Self(), ctx.ActorSystem().Root.Send
		go func() {
			b, _ := io.ReadAll(io.LimitReader(msg.Output, maxExecOutput))
			io.Copy(io.Discard, msg.Output) // past the limit: drained, not kept
			msg.Output.Close()
			send(self, &execOutput{b})
		}()
	case *execKill:
		r.killed = true
		if r.status == nil {
			r.handle.SignalGroup(unix.SIGKILL)
		}
	case *execOutput:
		r.output = msg.b
		r.finish(ctx)
	case *monitor.Exited:
		s := msg.Status
		r.status = &s
		r.handle.Close()
		r.finish(ctx)
	}
}

type execOutput struct{ b []byte }

func (r *execRunner) finish(ctx actor.Context) {
	if r.status == nil || r.output == nil {
		return
	}
	r.result <- execResult{PID: r.pid, Output: r.output, Status: *r.status}
	ctx.Stop(ctx.Self())
}

// execArgs splits an exec request's args: [--timeout D] [--] ARGV...
func execArgs(args []string) (argv []string, timeout time.Duration, err error) {
	timeout = defaultExecTimeout
	if len(args) >= 2 && args[0] == "--timeout" {
		d, err := time.ParseDuration(args[1])
		if err != nil || d <= 0 {
			return nil, 0, fmt.Errorf("exec: --timeout: %q is not a duration", args[1])
		}
		args, timeout = args[2:], d
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	return args, timeout, nil
}

// execArgv is the command line an exec request asks for, for the
// capability check (nil for other requests).
func execArgv(req wire.Request) []string {
	if req.Action != "exec" {
		return nil
	}
	argv, _, _ := execArgs(req.Args)
	return argv
}

// runExec runs the command and answers with a wire.ExecResult.
func (a *api) runExec(ctx context.Context, req wire.Request, who string, out local.Responder) {
	argv, timeout, err := execArgs(req.Args)
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)))
		return
	}
	if len(argv) == 0 {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "exec needs a command")))
		return
	}
	started := time.Now()
	results := make(chan execResult, 1)
	pid := a.d.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		return &execRunner{monitor: a.d.monitor, env: service.Environ(a.d.baseEnv), argv: argv, result: results}
	}))
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var res execResult
	timedOut := false
	for done := false; !done; {
		select {
		case res = <-results:
			done = true
		case <-timer.C:
			timedOut = true
			a.d.system.Root.Send(pid, &execKill{})
		case <-ctx.Done():
			a.d.system.Root.Send(pid, &execKill{})
			<-results
			return
		}
	}
	r := wire.ExecResult{Command: argv, Output: string(res.Output), Duration: wire.Duration(time.Since(started))}
	switch {
	case res.Err != nil:
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.StartFailed, "exec %s: %v", argv[0], res.Err)))
		return
	case timedOut:
		r.TimedOut, r.ExitCode = true, -1
	case res.Status.Signal != 0:
		r.Signal, r.ExitCode = services.SignalName(res.Status.Signal), -1
	default:
		r.ExitCode = res.Status.Code
	}
	a.d.system.Root.Send(a.d.historian, &historian.Record{Events: []history.Event{{
		Kind: history.KindAction, Service: "exec", Who: who, Action: "exec " + quoteArgs(argv), Result: "exit " + strconv.Itoa(r.ExitCode),
	}}})
	out.Send(wire.OKReply(req.ID, r))
}

// execKill asks a runner to kill its process group (a timeout, or the
// caller went away).
type execKill struct{}

func quoteArgs(argv []string) string {
	s := ""
	for i, a := range argv {
		if i > 0 {
			s += " "
		}
		s += strconv.Quote(a)
	}
	return s
}
