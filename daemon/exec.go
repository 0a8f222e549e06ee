package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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
	// execKillWait bounds the wait for a killed command's end.
	execKillWait = 10 * time.Second
)

// execRunner owns one exec'd process: it asks the monitor to start it and
// hears of its start and exit, like a controller of a one-off service. A
// fleet command must run once, whatever happens: the runner's state
// outlives any one incarnation of the actor (style P9a), it asks for the
// start only once, and a runner that fails is stopped, not restarted
// (execSupervision), answering its caller and killing the command.
type execRunner struct{ st *execState }

type execState struct {
	monitor *actor.PID
	goGo    func(func())
	env     []string
	argv    []string
	result  chan<- execResult
	// asked: the monitor was asked to start the command; answered: the
	// caller has its result.
	asked, answered bool
	pid             int
	handle          *proc.Handle // closed once the runner stops
	// output is the command's output while a goroutine reads it; closing
	// it ends that read (a process the command left behind may hold the
	// pipe open forever).
	output *os.File
	killed bool
	out    []byte
	gotOut bool
	status *services.ExitStatus
}

type execResult struct {
	PID    int
	Output []byte
	Status services.ExitStatus
	Err    error
}

// execSupervision stops an exec runner that fails: restarted, it would
// start its command again.
var execSupervision = actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })

// spawnExec starts a runner for argv, which answers on results (buffered).
func (d *Daemon) spawnExec(argv []string, results chan<- execResult) *actor.PID {
	st := &execState{monitor: d.monitor, goGo: d.goGo, env: service.Environ(d.baseEnv), argv: argv, result: results}
	return d.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &execRunner{st: st} }, actor.WithGuardian(execSupervision)))
}

// execProbe runs F inside the runner's Receive; tests inject failures.
type execProbe struct{ F func(*execState) }

func (r *execRunner) Receive(ctx actor.Context) {
	st := r.st
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if !st.asked {
			st.asked = true
			ctx.Send(st.monitor, &monitor.Spawn{Argv: st.argv, Env: st.env, Owner: ctx.Self()})
		}
	case *monitor.Spawned:
		if msg.Err != nil {
			st.answer(execResult{Err: msg.Err})
			ctx.Stop(ctx.Self())
			return
		}
		st.pid, st.handle, st.output = msg.PID, msg.Handle, msg.Output
		if st.killed {
			st.kill()
		}
		self, send, out := ctx.Self(), ctx.ActorSystem().Root.Send, msg.Output
		st.goGo(func() {
			b, _ := io.ReadAll(io.LimitReader(out, maxExecOutput))
			io.Copy(io.Discard, out) // past the limit: drained, not kept
			out.Close()
			send(self, &execOutput{b})
		})
	case *execKill:
		st.killed = true
		st.kill()
	case *execOutput:
		st.out, st.gotOut, st.output = msg.b, true, nil
		r.finish(ctx)
	case *monitor.Exited:
		s := msg.Status
		st.status = &s
		if st.killed {
			st.kill() // its output, held by what it left behind
		}
		r.finish(ctx)
	case *execProbe:
		msg.F(st)
	case *actor.Stopping:
		if !st.answered {
			// It failed: the command goes, and the caller hears why.
			st.kill()
			st.answer(execResult{PID: st.pid, Err: errors.New("internal error in the exec runner (see the daemon log); the command was killed")})
		}
		st.handle.Close()
	}
}

type execOutput struct{ b []byte }

// kill kills the command's group, and once the command has exited, ends
// the read of its output: what is left in the pipe is cut short.
func (st *execState) kill() {
	if st.status == nil {
		st.handle.SignalGroup(unix.SIGKILL)
	}
	if st.output != nil && st.status != nil {
		st.output.Close()
	}
}

func (st *execState) answer(res execResult) {
	if !st.answered {
		st.answered = true
		st.result <- res
	}
}

func (r *execRunner) finish(ctx actor.Context) {
	st := r.st
	if st.status == nil || !st.gotOut {
		return
	}
	st.answer(execResult{PID: st.pid, Output: st.out, Status: *st.status})
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
	pid := a.d.spawnExec(argv, results)
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
			// The caller went away (or the daemon stops): kill the
			// command, and wait a little for it to be reaped.
			a.d.system.Root.Send(pid, &execKill{})
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
