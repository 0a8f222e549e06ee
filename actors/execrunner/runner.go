package execrunner

import (
	"errors"
	"io"
	"os"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services/lifecycle"
	"golang.org/x/sys/unix"
)

// MaxOutput bounds what is kept of a command's output (stdout and stderr
// together); the rest is read and dropped, so the command never blocks.
const MaxOutput = 1 << 20

// Env is what a runner needs of the daemon.
type Env struct {
	// Monitor starts the command and reports its exit.
	Monitor *actor.PID
	// Go runs f on an accounted goroutine (the daemon waits for them).
	Go func(f func())
	// Environ is the command's environment.
	Environ []string
}

// runner owns one exec'd process: it asks the monitor to start it and
// hears of its start and exit, like a controller of a one-off service. A
// fleet command must run once, whatever happens: the runner's state
// outlives any one incarnation of the actor (style P9a), it asks for the
// start only once, and a runner that fails is stopped, not restarted
// (execSupervision), answering its caller and killing the command.
type runner struct{ st *state }

type state struct {
	env    Env
	argv   []string
	result chan<- Result
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
	status *lifecycle.ExitStatus
}

type Result struct {
	PID    int
	Output []byte
	Status lifecycle.ExitStatus
	Err    error
}

// supervision stops a runner that fails: restarted, it would start its
// command again.
var supervision = actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })

// Spawn starts a runner for argv, which answers once on results (buffered).
func Spawn(root *actor.RootContext, env Env, argv []string, results chan<- Result) *actor.PID {
	st := &state{env: env, argv: argv, result: results}
	return root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &runner{st: st} }, actor.WithGuardian(supervision)))
}

// Probe runs F inside the runner's Receive: tests inject failures with it.
type Probe struct{ F func() }

func (r *runner) Receive(ctx actor.Context) {
	st := r.st
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if !st.asked {
			st.asked = true
			ctx.Send(st.env.Monitor, &monitor.Spawn{Argv: st.argv, Env: st.env.Environ, Owner: ctx.Self()})
		}
	case *monitor.Spawned:
		if msg.Err != nil {
			st.answer(Result{Err: msg.Err})
			ctx.Stop(ctx.Self())
			return
		}
		st.pid, st.handle, st.output = msg.PID, msg.Handle, msg.Output
		if st.killed {
			st.kill()
		}
		self, send, out := ctx.Self(), ctx.ActorSystem().Root.Send, msg.Output
		st.env.Go(func() {
			b, _ := io.ReadAll(io.LimitReader(out, MaxOutput))
			io.Copy(io.Discard, out) // past the limit: drained, not kept
			out.Close()
			send(self, &output{b})
		})
	case *Kill:
		st.killed = true
		st.kill()
	case *output:
		st.out, st.gotOut, st.output = msg.b, true, nil
		r.finish(ctx)
	case *monitor.Exited:
		s := msg.Status
		st.status = &s
		if st.killed {
			st.kill() // its output, held by what it left behind
		}
		r.finish(ctx)
	case *Probe:
		msg.F()
	case *actor.Stopping:
		if !st.answered {
			// It failed: the command goes, and the caller hears why.
			st.kill()
			st.answer(Result{PID: st.pid, Err: errors.New("internal error in the exec runner (see the daemon log); the command was killed")})
		}
		st.handle.Close()
	}
}

type output struct{ b []byte }

// kill kills the command's group, and once the command has exited, ends
// the read of its output: what is left in the pipe is cut short.
func (st *state) kill() {
	if st.status == nil {
		st.handle.SignalGroup(unix.SIGKILL)
	}
	if st.output != nil && st.status != nil {
		st.output.Close()
	}
}

func (st *state) answer(res Result) {
	if !st.answered {
		st.answered = true
		st.result <- res
	}
}

func (r *runner) finish(ctx actor.Context) {
	st := r.st
	if st.status == nil || !st.gotOut {
		return
	}
	st.answer(Result{PID: st.pid, Output: st.out, Status: *st.status})
	ctx.Stop(ctx.Self())
}

// Kill asks a runner to kill its process group (a timeout, or the
// caller went away).
type Kill struct{}
