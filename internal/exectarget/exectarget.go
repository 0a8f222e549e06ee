package exectarget

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/execrunner"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// A command line that an exec capability allows runs under the daemon's
// own identity, through the monitor like any process, with stdin on
// /dev/null and its output (stdout and stderr together) captured up to
// execrunner.MaxOutput. A timeout kills its process group.

const (
	// DefaultTimeout is a command's time when the request names none.
	DefaultTimeout = time.Minute
	// killWait bounds the wait for a killed command's end.
	killWait = 10 * time.Second
)

// Env is what running a command needs of its daemon.
type Env struct {
	Root   *actor.RootContext
	Runner execrunner.Env
	// Record keeps the history event of a command that ran (not waiting).
	Record func(history.Event)
	Logf   func(format string, args ...any)
}

// Spawn starts a runner for argv, which answers on results (buffered).
func (e Env) Spawn(argv []string, results chan<- execrunner.Result) *actor.PID {
	return execrunner.Spawn(e.Root, e.Runner, argv, results)
}

// Args splits an exec request's args: [--timeout D] [--] ARGV...
func Args(args []string) (argv []string, timeout time.Duration, err error) {
	timeout = DefaultTimeout
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

// Argv is the command line an exec request asks for, for the capability
// check (nil for other requests).
func Argv(req wire.Request) []string {
	if req.Action != "exec" {
		return nil
	}
	argv, _, _ := Args(req.Args)
	return argv
}

// Denied is the refusal of a command line no exec capability allows: the
// same words from every host, a real one or a simulated one, so that a
// refusal reaches an operator alike whichever way it came.
func Denied(argv []string) *wire.Error {
	return wire.Errorf(wire.PermissionDenied, "permission denied: no exec capability allows %q", strings.Join(argv, " "))
}

// Run runs the command of req (checked already) and answers with a
// wire.ExecResult; who names the caller in the history.
func Run(ctx context.Context, env Env, req wire.Request, who string, out local.Responder) {
	argv, timeout, err := Args(req.Args)
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)))
		return
	}
	if len(argv) == 0 {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "exec needs a command")))
		return
	}
	started := time.Now()
	results := make(chan execrunner.Result, 1)
	pid := env.Spawn(argv, results)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var res execrunner.Result
	timedOut := false
	for done := false; !done; {
		select {
		case res = <-results:
			done = true
		case <-timer.C:
			timedOut = true
			env.Root.Send(pid, &execrunner.Kill{})
		case <-ctx.Done():
			// The caller went away (or the daemon stops): kill the
			// command, and wait a little for it to be reaped.
			env.Root.Send(pid, &execrunner.Kill{})
			select {
			case <-results:
			case <-time.After(killWait):
				env.Logf("exec %s: no end %v after it was killed", Quote(argv), killWait)
			}
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
	if env.Record != nil {
		env.Record(history.Event{Kind: history.KindAction, Service: "exec", Who: who, Action: "exec " + Quote(argv), Result: "exit " + strconv.Itoa(r.ExitCode)})
	}
	out.Send(wire.OKReply(req.ID, r))
}

// Quote is a command line as the history shows it.
func Quote(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Quote(a))
	}
	return b.String()
}
