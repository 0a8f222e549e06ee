package service

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
	"golang.org/x/sys/unix"
)

// hookRun is a hook command in flight.
type hookRun struct {
	name     string
	handle   *proc.Handle // closed once its exit is handled
	output   *os.File     // drained by a goroutine; closed to end it
	timer    *time.Timer
	timedOut bool
}

// hookTimeout says a hook command ran past its timeout.
type hookTimeout struct{ PID int }

// hookDone reports the outcome of a URL hook.
type hookDone struct{ Name, Result string }

// hookFor maps a step's history events to the hooks they trigger.
func hookFor(e history.Event) string {
	switch {
	case e.Kind == history.KindExit:
		return "on-exit"
	case e.Kind == history.KindState && e.State == lifecycle.Failed.String():
		return "on-failure"
	case e.Kind == history.KindRespawnLimit:
		return "on-respawn-limit"
	}
	return ""
}

// fireHooks starts the hooks a step's events trigger. They run on their
// own; their outcome comes back as a message and becomes a history event.
func (c *controller) fireHooks(ctx actor.Context, evs []history.Event) {
	st := c.st
	if len(st.spec.Hooks) == 0 {
		return
	}
	// The exit of this step, if any, describes the process for every hook.
	var exit history.Event
	for _, e := range evs {
		if e.Kind == history.KindExit {
			exit = e
		}
	}
	for _, e := range evs {
		name := hookFor(e)
		h, ok := st.spec.Hooks[name]
		if !ok {
			continue
		}
		vars := map[string]string{"SERVICE": st.spec.Name, "EVENT": name, "PID": "", "EXIT_CODE": "", "SIGNAL": "", "RUNTIME": ""}
		if exit.PID != 0 {
			vars["PID"] = strconv.Itoa(exit.PID)
			vars["SIGNAL"] = exit.Signal
			vars["RUNTIME"] = strconv.FormatFloat(exit.Runtime.Seconds(), 'f', 3, 64)
			if exit.ExitCode != nil {
				vars["EXIT_CODE"] = strconv.Itoa(*exit.ExitCode)
			}
		}
		if h.URL != "" {
			c.postHook(ctx, name, h, vars)
			continue
		}
		st.hookTag++
		st.hookSpawns[st.hookTag] = name
		ctx.Send(st.env.Monitor, &monitor.Spawn{
			Argv: h.Command, Env: proc.Environ(st.env.BaseEnv, st.spec.Environment, vars), Dir: st.spec.Directory,
			Owner: ctx.Self(), Tag: st.hookTag, Hook: true,
		})
	}
}

func (c *controller) postHook(ctx actor.Context, name string, h services.Hook, vars map[string]string) {
	body, _ := json.Marshal(vars)
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	c.st.urlHooks++
	c.st.env.Go(func() {
		// Cut short when the daemon stops, as a hook command is killed
		// with its controller.
		rctx, cancel := c.st.env.Context(h.Timeout)
		defer cancel()
		result := ""
		req, err := http.NewRequestWithContext(rctx, http.MethodPost, h.URL, bytes.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			var resp *http.Response
			if resp, err = http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
				result = "HTTP " + strconv.Itoa(resp.StatusCode)
			}
		}
		if err != nil {
			result = "failed: " + err.Error()
		}
		send(self, &hookDone{Name: name, Result: result})
	})
}

// onHookSpawned tracks a started hook command and arms its timeout.
func (c *controller) onHookSpawned(ctx actor.Context, msg *monitor.Spawned) {
	st := c.st
	name := st.hookSpawns[msg.Tag]
	delete(st.hookSpawns, msg.Tag)
	h := st.spec.Hooks[name]
	if msg.Err != nil {
		c.recordHook(ctx, name, "failed: "+msg.Err.Error())
		return
	}
	// The hook's output is not kept; drain it so the hook never blocks.
	out := msg.Output
	st.env.Go(func() { io.Copy(io.Discard, out); out.Close() })
	self, send, pid := ctx.Self(), ctx.ActorSystem().Root.Send, msg.PID
	st.hooks[pid] = &hookRun{name: name, handle: msg.Handle, output: out, timer: time.AfterFunc(h.Timeout, func() { send(self, &hookTimeout{PID: pid}) })}
}

func (c *controller) onHookExited(ctx actor.Context, run *hookRun, msg *monitor.Exited) {
	delete(c.st.hooks, msg.PID)
	run.timer.Stop()
	run.handle.Close()
	result := msg.Status.String()
	if run.timedOut {
		result = "timed out after " + c.st.spec.Hooks[run.name].Timeout.String()
	}
	c.recordHook(ctx, run.name, result)
}

func (c *controller) onHookTimeout(msg *hookTimeout) {
	if run, ok := c.st.hooks[msg.PID]; ok {
		run.timedOut = true
		run.handle.SignalGroup(unix.SIGKILL)
	}
}

func (c *controller) recordHook(ctx actor.Context, name, result string) {
	c.st.env.Logf("service %s: hook %s: %s", c.st.spec.Name, name, result)
	ctx.Send(c.st.env.Historian, &historian.Record{Events: []history.Event{{
		Service: c.st.spec.Name, Kind: history.KindHook, Action: name, Result: result,
	}}})
}
