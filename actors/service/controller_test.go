package service

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

var (
	sprintf       = fmt.Sprintf
	jsonUnmarshal = json.Unmarshal
)

// TestControllerPanicKeepsStateAndProcess: a controller that panics is
// restarted and still knows its running process, which it can stop and
// whose exit it still receives; a request in flight gets an answer.
func TestControllerPanicKeepsStateAndProcess(t *testing.T) {
	h := newHarness(t)
	pid := h.add("  - name: sleeper\n    command: [sleep, \"3600\"]\n")
	if rep := h.call(pid, "start"); !rep.OK {
		t.Fatalf("start: %+v", rep.Error)
	}
	st := h.status(pid)
	if st.State != "running" {
		t.Fatalf("after start: %s", st.State)
	}
	waiting := make(chan wire.Reply, 1)
	h.sys.Root.Send(pid, &Probe{F: func(st *ControllerState) {
		st.wait(replyTarget{client: waiting, reqID: 7})
		panic("injected failure")
	}})
	select {
	case rep := <-waiting:
		if rep.OK || rep.Error.Kind != wire.Timeout || rep.ID != 7 {
			t.Fatalf("abandoned request: %+v", rep)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a request in flight when the controller failed was never answered")
	}
	if after := h.status(pid); after.State != "running" || after.PID != st.PID {
		t.Fatalf("after the panic: state %s pid %d, want running %d", after.State, after.PID, st.PID)
	}
	rep := h.call(pid, "stop")
	var res wire.ActionResult
	json.Unmarshal(rep.Result, &res)
	if !rep.OK || res.Outcome != wire.Stopped {
		t.Fatalf("stop after restart: %+v", rep)
	}
	if err := syscall.Kill(st.PID, 0); err == nil {
		t.Fatalf("process %d still exists after stop", st.PID)
	}
	if !strings.Contains(h.log.String(), "service sleeper is stopped") {
		t.Errorf("the log does not say the service stopped:\n%s", h.log.String())
	}
}

// alive says whether process pid exists and is not a zombie.
func alive(pid int) bool {
	p, err := proc.ReadProcStat(pid)
	return err == nil && p.State != 'Z'
}

// TestControllerRequirements: a start starts the requirements first and
// answers with every step in order; a stop stops the dependents first; a
// requirement that fails fails the start with its name, and the service
// itself stays stopped.
func TestControllerRequirements(t *testing.T) {
	h := newHarness(t)
	pids := h.addAll(`  - name: net
  - name: db
    requires: [net]
    command: [sleep, "3600"]
  - name: web
    requires: [db]
    command: [sleep, "3600"]
  - name: broken
    command: [/nonexistent/program]
  - name: app
    requires: [net, broken]
    command: [sleep, "3600"]
`)
	steps := func(res wire.ActionResult) string {
		var s []string
		for _, st := range res.Steps {
			s = append(s, st.Service+":"+string(st.Outcome))
		}
		return strings.Join(s, " ")
	}
	res := h.result(h.call(pids["web"], "start"), "start web")
	if got, want := steps(res), "net:started db:started web:started"; got != want {
		t.Errorf("start web: steps %q, want %q", got, want)
	}
	for _, name := range []string{"net", "db", "web"} {
		if st := h.status(pids[name]); st.State != wire.StateRunning {
			t.Errorf("%s after start web: %s", name, st.State)
		}
	}
	// db's process was started before web's.
	if db, web := h.events("db", history.KindStart), h.events("web", history.KindStart); len(db) != 1 || len(web) != 1 || db[0].Seq > web[0].Seq {
		t.Errorf("start events: db %+v, web %+v", db, web)
	}
	webPID := h.status(pids["web"]).PID

	res = h.result(h.call(pids["db"], "stop"), "stop db")
	if got, want := steps(res), "web:stopped db:stopped"; got != want {
		t.Errorf("stop db: steps %q, want %q", got, want)
	}
	if st := h.status(pids["web"]); st.State != wire.StateStopped || alive(webPID) {
		t.Errorf("web after stop db: %s, process %d alive %v", st.State, webPID, alive(webPID))
	}
	if st := h.status(pids["net"]); st.State != wire.StateRunning {
		t.Errorf("net after stop db: %s (a stop does not go down to requirements)", st.State)
	}

	rep := h.call(pids["app"], "start")
	if rep.OK || rep.Error.Kind != wire.DependencyFailed || rep.Error.Dependency != "broken" {
		t.Fatalf("start app: %+v", rep)
	}
	if st := h.status(pids["app"]); st.State != wire.StateStopped {
		t.Errorf("app after its requirement failed: %s, want stopped", st.State)
	}
	if st := h.status(pids["broken"]); st.State != wire.StateFailed || !strings.Contains(st.FailReason, "/nonexistent/program") {
		t.Errorf("broken: %s %q", st.State, st.FailReason)
	}
}

// TestControllerCrashAndRespawn: an unexpected exit is followed by a
// respawn, up to the respawn limit; then the service is failed and
// disabled, and history says so.
func TestControllerCrashAndRespawn(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		// wantState is where the service settles; exits and respawns
		// are counted in history.
		wantState        string
		exits, respawns  int
		limit, disabled  bool
		wantFailReasonRE string
	}{
		{
			name:      "limit",
			yaml:      "    respawn-limit: {count: 2, seconds: 60}\n    respawn-delay: 10ms\n",
			wantState: wire.StateFailed, exits: 3, respawns: 2, limit: true, disabled: true,
			wantFailReasonRE: "respawn limit hit: 2 respawns within 1m0s",
		},
		{
			name:      "no respawn",
			yaml:      "    respawn: false\n",
			wantState: wire.StateStopped, exits: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			pid := h.add("  - name: crasher\n    command: [sh, -c, 'exit 3']\n" + tc.yaml)
			if rep := h.call(pid, "start"); !rep.OK {
				t.Fatalf("start: %+v", rep.Error)
			}
			st := h.waitStatus(pid, "the service to settle", func(st wire.Status) bool {
				return st.State == tc.wantState && len(h.events("crasher", history.KindExit)) == tc.exits
			})
			if st.Respawns != tc.respawns || st.Enabled == tc.disabled || st.LastExit == nil || st.LastExit.Code != 3 {
				t.Errorf("status: respawns %d (want %d), enabled %v, last exit %+v", st.Respawns, tc.respawns, st.Enabled, st.LastExit)
			}
			if !strings.Contains(st.FailReason, tc.wantFailReasonRE) {
				t.Errorf("fail reason %q, want %q", st.FailReason, tc.wantFailReasonRE)
			}
			if n := len(h.events("crasher", history.KindRespawn)); n != tc.respawns {
				t.Errorf("%d respawn events, want %d", n, tc.respawns)
			}
			if n := len(h.events("crasher", history.KindRespawnLimit)); (n == 1) != tc.limit {
				t.Errorf("%d respawn-limit events", n)
			}
			if n := len(h.events("crasher", history.KindStart)); n != tc.exits {
				t.Errorf("%d start events, want %d", n, tc.exits)
			}
			if tc.disabled {
				rep := h.call(pid, "start")
				if rep.OK || !rep.Error.Disabled {
					t.Errorf("start after the limit: %+v, want refused as disabled", rep)
				}
			}
		})
	}
}

// TestControllerStopDuringStart: a stop that comes while a start waits
// (for a requirement, the respawn delay, a one-shot's end, a PID file)
// ends the start, answers its waiters and leaves no process behind.
func TestControllerStopDuringStart(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		// The test starts target, waits until wait holds of its status,
		// and stops it.
		target string
		wait   func(wire.Status) bool
		// ownProcess: the target has a process of its own while it
		// waits, which the stop must end.
		ownProcess bool
		// answered: the start was answered before it waited (a
		// respawn has nobody waiting on it).
		answered bool
	}{
		{
			name: "requirement",
			yaml: `  - name: slow
    one-shot: true
    command: [sleep, "3600"]
  - name: top
    requires: [slow]
    command: [sleep, "3600"]
`,
			target: "top",
			wait:   func(st wire.Status) bool { return st.State == wire.StateStarting },
		},
		{
			name: "respawn delay",
			yaml: `  - name: top
    command: [sh, -c, 'exit 3']
    respawn-delay: 1h
`,
			target: "top", answered: true,
			wait: func(st wire.Status) bool { return st.State == wire.StateStarting && st.Respawns == 1 },
		},
		{
			name: "one-shot",
			yaml: `  - name: top
    one-shot: true
    command: [sleep, "3600"]
`,
			target: "top", ownProcess: true,
			wait: func(st wire.Status) bool { return st.State == wire.StateStarting && st.LastExit == nil },
		},
		{
			name: "pid file",
			yaml: `  - name: top
    command: [sleep, "3600"]
    pid-file: @DIR@/never.pid
    pid-file-timeout: 1h
`,
			target: "top", ownProcess: true,
			wait: func(st wire.Status) bool { return st.State == wire.StateStarting && st.LastExit == nil },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			pids := h.addAll(strings.ReplaceAll(tc.yaml, "@DIR@", t.TempDir()))
			pid := pids[tc.target]
			started := h.async(pid, "start")
			h.waitStatus(pid, "the start to wait", tc.wait)
			var proc int
			if tc.ownProcess {
				waitFor(t, "the process to start", func() bool {
					evs := h.events(tc.target, history.KindStart)
					if len(evs) == 1 {
						proc = evs[0].PID
					}
					return proc != 0
				})
			}
			if tc.answered {
				if rep := h.await(started, "start"); !rep.OK {
					t.Fatalf("start: %+v", rep.Error)
				}
				started = nil
			}
			res := h.result(h.call(pid, "stop"), "stop")
			if res.Outcome != wire.Stopped {
				t.Errorf("stop: %s, want stopped", res.Outcome)
			}
			if after := h.status(pid); after.State != wire.StateStopped || after.PID != 0 {
				t.Errorf("after the stop: %s, pid %d", after.State, after.PID)
			}
			if started != nil {
				rep := h.await(started, "start")
				if rep.OK || !strings.Contains(rep.Error.Message, "stopped while starting") {
					t.Errorf("the start's answer: %+v", rep)
				}
			}
			if proc != 0 {
				waitFor(t, "the process to be gone", func() bool { return !alive(proc) })
			}
		})
	}
}

// TestControllerOneShot: a one-shot service's start answers when its
// process ends: started (and done) on exit 0, failed otherwise.
func TestControllerOneShot(t *testing.T) {
	for _, tc := range []struct {
		name, command string
		ok            bool
		state         string
		reason        string
	}{
		{name: "success", command: "exit 0", ok: true, state: wire.StateStopped},
		{name: "failure", command: "exit 3", state: wire.StateFailed, reason: "one-shot process exited with code 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			pid := h.add("  - name: once\n    one-shot: true\n    command: [sh, -c, '" + tc.command + "']\n")
			rep := h.call(pid, "start")
			if rep.OK != tc.ok {
				t.Fatalf("start: %+v", rep)
			}
			if !tc.ok && !strings.Contains(rep.Error.Message, tc.reason) {
				t.Errorf("start failed with %q, want %q", rep.Error.Message, tc.reason)
			}
			st := h.status(pid)
			if st.State != tc.state || st.Done != tc.ok || st.PID != 0 || st.FailReason != tc.reason {
				t.Errorf("status: %s done %v pid %d reason %q", st.State, st.Done, st.PID, st.FailReason)
			}
			if n := len(h.events("once", history.KindRespawn)); n != 0 {
				t.Errorf("a one-shot was respawned %d times", n)
			}
		})
	}
}

// TestControllerCustomAction: a custom action runs with $MAINPID, as its
// service would, and answers with its output and exit code; an unknown
// action, wrong arguments and $MAINPID of a stopped service are refused.
func TestControllerCustomAction(t *testing.T) {
	h := newHarness(t)
	pid := h.add(`  - name: svc
    command: [sleep, "3600"]
    actions:
      show:
        command: [sh, -c, 'echo main=$MAINPID arg=$0; exit 4']
        args: [{name: word, pattern: '[a-z]+'}]
`)
	for _, tc := range []struct {
		name    string
		start   bool
		args    []string
		wantErr wire.ErrorKind
	}{
		{name: "not running", args: []string{"x"}, wantErr: wire.BadRequest},
		{name: "runs", start: true, args: []string{"hello"}},
		{name: "bad argument", args: []string{"NO"}, wantErr: wire.BadRequest},
		{name: "unknown action", wantErr: wire.ActionNotFound},
	} {
		if tc.start {
			h.result(h.call(pid, "start"), "start")
		}
		action := "show"
		if tc.name == "unknown action" {
			action = "nosuch"
		}
		rep := h.await(h.async(pid, action, tc.args...), tc.name)
		if tc.wantErr != "" {
			if rep.OK || rep.Error.Kind != tc.wantErr {
				t.Errorf("%s: %+v, want %s", tc.name, rep, tc.wantErr)
			}
			continue
		}
		res := h.result(rep, tc.name)
		want := fmt.Sprintf("main=%d arg=hello\n", h.status(pid).PID)
		if res.Output != want || res.ExitCode != 4 || res.Outcome != wire.Done {
			t.Errorf("%s: output %q exit %d outcome %s, want %q exit 4", tc.name, res.Output, res.ExitCode, res.Outcome, want)
		}
	}
	// The answer does not wait for the history: wait for the record.
	waitFor(t, "the action in history", func() bool {
		evs := h.events("svc", history.KindAction)
		return len(evs) > 0 && evs[len(evs)-1].Result == "exit 4"
	})
}

// TestControllerPIDFile: a service whose launcher daemonizes is running
// once its PID file names a process it may claim, which its stop ends; a
// PID file naming a process that is not the service's fails the start.
func TestControllerPIDFile(t *testing.T) {
	for _, tc := range []struct {
		name, launcher string
		wantReason     string
	}{
		{name: "daemonized", launcher: `sleep 3600 & echo $! > "$PIDFILE"; exit 0`},
		{name: "not ours", launcher: `echo 1 > "$PIDFILE"; exec sleep 3600`, wantReason: "names process 1, which is not a descendant of the service"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			file := filepath.Join(t.TempDir(), "svc.pid")
			pid := h.add(fmt.Sprintf("  - name: svc\n    command: [sh, -c, '%s']\n    environment: {PIDFILE: %q}\n    pid-file: %q\n",
				tc.launcher, file, file))
			rep := h.call(pid, "start")
			if tc.wantReason != "" {
				if rep.OK || !strings.Contains(rep.Error.Message, tc.wantReason) {
					t.Fatalf("start: %+v, want it failed with %q", rep, tc.wantReason)
				}
				if st := h.status(pid); st.State != wire.StateFailed || st.PID != 0 {
					t.Errorf("status: %s pid %d", st.State, st.PID)
				}
				return
			}
			h.result(rep, "start")
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			st := h.status(pid)
			if want := strings.TrimSpace(string(b)); st.State != wire.StateRunning || fmt.Sprint(st.PID) != want {
				t.Fatalf("status: %s pid %d, want running %s", st.State, st.PID, want)
			}
			if res := h.result(h.call(pid, "stop"), "stop"); res.Outcome != wire.Stopped {
				t.Errorf("stop: %s", res.Outcome)
			}
			waitFor(t, "the daemonized process to be gone", func() bool { return !alive(st.PID) })
		})
	}
}

// TestControllerHooks: a command hook runs beside its service with the
// event in its environment; its outcome (or its timeout) is history.
func TestControllerHooks(t *testing.T) {
	for _, tc := range []struct {
		name, hook, wantResult string
		// wantFile, when set, is what the hook writes to out.
		wantFile string
	}{
		{
			name:       "on-exit",
			hook:       `[sh, -c, 'echo "$SERVICE $EVENT $EXIT_CODE $PID" > @OUT@']`,
			wantResult: "exited with code 0", wantFile: "svc on-exit 5 @PID@\n",
		},
		{
			name:       "timeout",
			hook:       `{command: [sleep, "3600"], timeout: 200ms}`,
			wantResult: "timed out after 200ms",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			out := filepath.Join(t.TempDir(), "out")
			pid := h.add("  - name: svc\n    command: [sh, -c, 'exit 5']\n    respawn: false\n    on-exit: " + strings.ReplaceAll(tc.hook, "@OUT@", out) + "\n")
			h.result(h.call(pid, "start"), "start")
			var hook history.Event
			waitFor(t, "the hook's outcome in history", func() bool {
				evs := h.events("svc", history.KindHook)
				if len(evs) > 0 {
					hook = evs[0]
				}
				return len(evs) > 0
			})
			if hook.Action != "on-exit" || hook.Result != tc.wantResult {
				t.Errorf("hook event: %s %q, want on-exit %q", hook.Action, hook.Result, tc.wantResult)
			}
			if tc.wantFile == "" {
				return
			}
			exits := h.events("svc", history.KindExit)
			if len(exits) != 1 {
				t.Fatalf("exits: %+v", exits)
			}
			b, _ := os.ReadFile(out)
			if want := strings.ReplaceAll(tc.wantFile, "@PID@", fmt.Sprint(exits[0].PID)); string(b) != want {
				t.Errorf("the hook wrote %q, want %q", b, want)
			}
		})
	}
}

// TestControllerHandover: a re-exec's handover of a controller (Freeze,
// Saved through JSON, RestoredController) carries on where it left off:
// the running process is the same and its exits reach the new controller,
// the respawn count is kept, and a pending respawn delay still fires.
func TestControllerHandover(t *testing.T) {
	h := newHarness(t)
	pids := h.addAll(`  - name: steady
    command: [sleep, "3600"]
    respawn-delay: 10ms
  - name: crasher
    command: [sh, -c, 'exit 3']
    respawn-limit: unlimited
    respawn-delay: 3s
`)
	h.result(h.call(pids["steady"], "start"), "start steady")
	h.result(h.call(pids["crasher"], "start"), "start crasher")
	steady := h.status(pids["steady"])
	crasher := h.waitStatus(pids["crasher"], "crasher to wait for its respawn", func(st wire.Status) bool {
		return st.State == wire.StateStarting && st.Respawns == 1
	})

	// Freeze both, as a re-exec does, and hand their state over in JSON.
	// A controller whose step waits for history is not at rest: like a
	// re-exec, thaw and try again.
	saved := h.freeze(func(s map[string]Saved) bool { return s["crasher"].Machine.Respawning }, "steady", "crasher")
	if s := saved["crasher"].Machine; s.TimerDue.IsZero() || s.RespawnCount != 1 {
		t.Fatalf("crasher saved %+v: want a pending respawn", s)
	}
	starts := len(h.events("crasher", history.KindStart))

	// The old controllers go (their timers with them); new ones carry on
	// at the same addresses, where the monitor sends their exits.
	for name, pid := range pids {
		h.sys.Root.StopFuture(pid).Wait()
		cs := RestoredController(h.env, saved[name], h.loggers[name], time.Now())
		var err error
		if pids[name], err = h.sys.Root.SpawnNamed(cs.Props(), pid.Id); err != nil {
			t.Fatal(err)
		}
		h.controllers[name] = pids[name]
	}
	// The handle on the process is the one handed over, not one opened
	// anew by its PID.
	fds := make(chan int, 1)
	h.sys.Root.Send(pids["steady"], &Probe{F: func(st *ControllerState) { fds <- st.procs[steady.PID].FD() }})
	if fd := <-fds; fd != saved["steady"].PIDFD {
		t.Errorf("steady's handle after the handover: fd %d, want the one handed over, %d", fd, saved["steady"].PIDFD)
	}
	if st := h.status(pids["steady"]); st.State != wire.StateRunning || st.PID != steady.PID {
		t.Errorf("steady after the handover: %s pid %d, want running %d", st.State, st.PID, steady.PID)
	}
	if st := h.status(pids["crasher"]); st.Respawns != crasher.Respawns || st.State != wire.StateStarting {
		t.Errorf("crasher after the handover: %s, %d respawns, want starting, %d", st.State, st.Respawns, crasher.Respawns)
	}
	waitFor(t, "the pending respawn to happen", func() bool { return len(h.events("crasher", history.KindStart)) > starts })
	if st := h.status(pids["crasher"]); st.Respawns < 1 {
		t.Errorf("crasher after its respawn: %d respawns", st.Respawns)
	}

	// The exit of the process handed over reaches the new controller.
	syscall.Kill(steady.PID, syscall.SIGKILL)
	st := h.waitStatus(pids["steady"], "steady respawned", func(st wire.Status) bool {
		return st.State == wire.StateRunning && st.PID != steady.PID && st.PID != 0
	})
	if st.Respawns != 1 || st.LastExit == nil || st.LastExit.PID != steady.PID || st.LastExit.Signal != "SIGKILL" {
		t.Errorf("steady after its kill: %d respawns, last exit %+v", st.Respawns, st.LastExit)
	}
}
