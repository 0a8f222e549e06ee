package daemon

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/execrunner"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// The built-in exec target (herd fleet exec): a command line that an exec
// capability allows runs under the daemon's own identity, through the
// monitor like any process, with stdin on /dev/null and its output (stdout
// and stderr together) captured up to execrunner.MaxOutput. A timeout
// kills its process group.

const (
	defaultExecTimeout = time.Minute
	// execKillWait bounds the wait for a killed command's end.
	execKillWait = 10 * time.Second
)

// spawnExec starts a runner for argv, which answers on results (buffered).
func (d *Daemon) spawnExec(argv []string, results chan<- execrunner.Result) *actor.PID {
	env := execrunner.Env{Monitor: d.monitor, Go: d.goGo, Environ: proc.Environ(d.baseEnv)}
	return execrunner.Spawn(d.system.Root, env, argv, results)
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
	results := make(chan execrunner.Result, 1)
	pid := a.d.spawnExec(argv, results)
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
			a.d.system.Root.Send(pid, &execrunner.Kill{})
		case <-ctx.Done():
			// The caller went away (or the daemon stops): kill the
			// command, and wait a little for it to be reaped.
			a.d.system.Root.Send(pid, &execrunner.Kill{})
			select {
			case <-results:
			case <-time.After(execKillWait):
				a.d.logf("exec %s: no end %v after it was killed", quoteArgs(argv), execKillWait)
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
	a.d.system.Root.Send(a.d.historian, &historian.Record{Events: []history.Event{{
		Kind: history.KindAction, Service: "exec", Who: who, Action: "exec " + quoteArgs(argv), Result: "exit " + strconv.Itoa(r.ExitCode),
	}}})
	out.Send(wire.OKReply(req.ID, r))
}

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
