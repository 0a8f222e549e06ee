package notifier

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services/alerting"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/lifecycle"
	"golang.org/x/sys/unix"
)

// maxScriptOutput is what is kept of a script's output (for the error
// of a failed try); the rest is read and dropped.
const maxScriptOutput = 4 << 10

// scriptEnv is a script's environment: a fixed PATH and the alert.
func scriptEnv(a alerting.Alert) []string {
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"SHEPHERD_ALERT_KEY=" + a.Key,
		"SHEPHERD_ALERT_STATUS=" + a.Status,
		"SHEPHERD_ALERT_SUBJECT=" + a.Subject,
		"SHEPHERD_ALERT_CLASS=" + string(a.Class),
		"SHEPHERD_ALERT_INCIDENT=" + a.Incident,
		"SHEPHERD_ALERT_FAILURES=" + strconv.Itoa(a.Failures),
		"SHEPHERD_ALERT_HOST=" + a.Host,
		"SHEPHERD_ALERT_MESSAGE=" + strings.ReplaceAll(a.Message, "\x00", ""),
	}
}

// runScript runs t's command through the process monitor, with the
// alert's JSON on its standard input; exit 0 is a delivery. A script
// still running at the timeout is killed with its process group.
func (n *Notifier) runScript(ctx context.Context, t config.NotifyTarget, a alerting.Alert) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	body := payload(a)
	if len(body) > 60<<10 { // a pipe holds 64 KiB: the write never waits
		r.Close()
		w.Close()
		return fmt.Errorf("alert of %d bytes is too large for a script", len(body))
	}
	w.Write(append(body, '\n'))
	w.Close()
	res := make(chan scriptResult, 1)
	st := &scriptRun{argv: t.Command, env: scriptEnv(a), stdin: r, monitor: n.env.Monitor, goFn: n.env.Go, res: res}
	pid := n.env.System.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return st }))
	select {
	case out := <-res:
		return out.err()
	case <-ctx.Done():
		n.env.System.Root.Send(pid, killScript{})
		return fmt.Errorf("%s: no answer within %v (killed)", t.Command[0], t.Timeout)
	}
}

type scriptResult struct {
	status lifecycle.ExitStatus
	out    []byte
	spawn  error
}

func (r scriptResult) err() error {
	switch {
	case r.spawn != nil:
		return r.spawn
	case r.status.Success():
		return nil
	}
	out := alerting.Clean(strings.TrimSpace(string(r.out)), 512)
	if out != "" {
		return fmt.Errorf("%s: %s", r.status, out)
	}
	return fmt.Errorf("%s", r.status)
}

type killScript struct{}
type scriptOutput struct{ b []byte }

// scriptRun owns one script's process, as execrunner owns a fleet
// command: the monitor starts it and tells of its exit.
type scriptRun struct {
	argv, env []string
	stdin     *os.File
	monitor   *actor.PID
	goFn      func(func())
	res       chan scriptResult

	handle *proc.Handle
	output *os.File
	exited *lifecycle.ExitStatus
	out    []byte
	gotOut bool
	killed bool
	done   bool
}

func (s *scriptRun) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		ctx.Send(s.monitor, &monitor.Spawn{Argv: s.argv, Env: s.env, Owner: ctx.Self(), Stdin: s.stdin})
	case *monitor.Spawned:
		s.stdin.Close()
		if msg.Err != nil {
			s.answer(scriptResult{spawn: msg.Err})
			ctx.Stop(ctx.Self())
			return
		}
		s.handle, s.output = msg.Handle, msg.Output
		if s.killed {
			s.handle.SignalGroup(unix.SIGKILL)
		}
		self, send, out := ctx.Self(), ctx.ActorSystem().Root.Send, msg.Output
		s.goFn(func() {
			b, _ := io.ReadAll(io.LimitReader(out, maxScriptOutput))
			io.Copy(io.Discard, out)
			out.Close()
			send(self, scriptOutput{b})
		})
	case killScript:
		s.killed = true
		if s.handle != nil && s.exited == nil {
			s.handle.SignalGroup(unix.SIGKILL)
		}
		if s.output != nil && s.exited != nil {
			s.output.Close() // what it left behind holds the pipe
		}
	case scriptOutput:
		s.out, s.gotOut = msg.b, true
		s.finish(ctx)
	case *monitor.Exited:
		st := msg.Status
		s.exited = &st
		s.finish(ctx)
	case *actor.Stopped:
		if s.handle != nil {
			s.handle.Close()
		}
	}
}

func (s *scriptRun) finish(ctx actor.Context) {
	if s.exited == nil || !s.gotOut {
		return
	}
	s.answer(scriptResult{status: *s.exited, out: s.out})
	ctx.Stop(ctx.Self())
}

func (s *scriptRun) answer(r scriptResult) {
	if !s.done {
		s.done = true
		s.res <- r
	}
}
