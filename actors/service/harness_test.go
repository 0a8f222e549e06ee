package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services/config"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"golang.org/x/sys/unix"
)

// TestMain lets the test binary serve as the trampoline, and makes it a
// child subreaper as the daemon is: the orphans of services (a daemonized
// process named by a PID file) are its children, reaped by the harness's
// reaper. This binary runs no test that needs otherwise.
func TestMain(m *testing.M) {
	proc.RunTrampolineIfAsked()
	if _, ok := os.LookupEnv("HELPER"); ok {
		helperMain() // a service of the readiness tests (ready_test.go)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "cannot become a child subreaper:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// harness runs controllers without a daemon: a real monitor, reaper and
// pump, a real history writer on a fresh store, and in place of the
// registry an actor that keeps what controllers tell it. Only one runs at
// a time: the reaper is process-wide.
type harness struct {
	t     testing.TB
	sys   *actor.ActorSystem
	env   Env
	store *history.Store
	reg   *registryFake
	// loggers and controllers of the services added, by name.
	loggers, controllers map[string]*actor.PID
	wg                   sync.WaitGroup
	log                  syncLog
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(strings.TrimRight(sprintf(format, args...), "\n") + "\n")
}

type logWriter struct{ l *syncLog }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.logf("%s", p)
	return len(p), nil
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// registryFake keeps the summaries and peer replies controllers send.
type registryFake struct {
	mu        sync.Mutex
	summaries map[string]wire.Summary
	replies   []*PeerReply
}

func (r *registryFake) Receive(ctx actor.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch msg := ctx.Message().(type) {
	case *SummaryUpdate:
		if msg.Summary.Name != "" {
			r.summaries[msg.Summary.Name] = msg.Summary
		}
	case *PeerReply:
		r.replies = append(r.replies, msg)
	}
}

func newHarness(t testing.TB) *harness {
	h := &harness{t: t, reg: &registryFake{summaries: map[string]wire.Summary{}}, loggers: map[string]*actor.PID{}, controllers: map[string]*actor.PID{}}
	// protoactor's own warnings go to the harness's log, which a failed
	// test shows.
	h.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(logWriter{&h.log}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the harness's log:\n%s", h.log.String())
		}
	})
	goGo := func(f func()) {
		h.wg.Add(1)
		go func() { defer h.wg.Done(); f() }()
	}
	var err error
	if h.store, err = history.Open(filepath.Join(t.TempDir(), "history")); err != nil {
		t.Fatal(err)
	}
	hist := h.sys.Root.Spawn(historian.NewProps(historian.Env{Go: goGo, Logf: h.log.logf}, h.store, 0))
	pump, err := proc.NewPump(func(owner, msg any) { h.sys.Root.Send(owner.(*actor.PID), msg) })
	if err != nil {
		t.Fatal(err)
	}
	goGo(pump.Run)
	props, err := monitor.NewProps(monitor.Env{Pump: pump, Go: goGo, Logf: h.log.logf})
	if err != nil {
		t.Fatal(err)
	}
	mon := h.sys.Root.Spawn(props)
	stop := make(chan struct{})
	goGo(func() { proc.Reap(func(e proc.Exit) { h.sys.Root.Send(mon, e) }, stop, nil) })
	reg, err := h.sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return h.reg }), "registry")
	if err != nil {
		t.Fatal(err)
	}
	life, endLife := context.WithCancel(context.Background())
	h.env = Env{Go: goGo, Logf: h.log.logf, Life: life, Monitor: mon, Historian: hist, Registry: reg, History: h.store,
		BaseEnv: proc.BaseEnvironment(), UID: os.Geteuid(), Send: h.sys.Root.Send,
		NotifyDir: filepath.Join(t.TempDir(), "notify")}
	t.Cleanup(func() {
		// No process outlives the test: every service is stopped (those
		// that were are not running; a stop of those answers at once).
		for _, pid := range h.controllers {
			h.sys.Root.Send(pid, &Thaw{})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			Ask(ctx, h.sys.Root.Send, pid, func(ch chan<- wire.Reply) any {
				return &Request{Req: wire.Request{Action: "stop"}, Who: "cleanup", Reply: ch}
			})
			cancel()
		}
		h.sys.Root.StopFuture(mon).Wait()
		pump.Stop()
		close(stop)
		h.sys.Root.StopFuture(hist).Wait()
		endLife()
		h.wg.Wait()
		h.store.Close()
	})
	return h
}

// add starts the controller (and logger) of the service a YAML snippet
// defines, as the registry would; it returns the controller's address.
func (h *harness) add(yaml string) *actor.PID {
	h.t.Helper()
	var pid *actor.PID
	for _, p := range h.addAll(yaml) {
		pid = p
	}
	return pid
}

// addAll starts the controllers of every service a YAML snippet defines
// and tells each its dependents, as the registry would.
func (h *harness) addAll(yaml string) map[string]*actor.PID {
	h.t.Helper()
	specs, errs := config.Parse("test.yaml", []byte("services:\n"+yaml), config.SystemAccounts{})
	if err := errs.Err(); err != nil {
		h.t.Fatal(err)
	}
	pids := map[string]*actor.PID{}
	dependents := map[string][]string{}
	for _, s := range specs {
		lg, err := h.sys.Root.SpawnNamed(logger.NewProps(s.Name, filepath.Join(h.t.TempDir(), s.Name+".log"), -1, s.LogRotate, h.log.logf), "registry/log:"+s.Name)
		if err != nil {
			h.t.Fatal(err)
		}
		if pids[s.Name], err = h.sys.Root.SpawnNamed(NewController(h.env, s, lg).Props(), ControllerPID(h.env.Registry, s.Name).Id); err != nil {
			h.t.Fatal(err)
		}
		h.loggers[s.Name], h.controllers[s.Name] = lg, pids[s.Name]
		for _, r := range s.Requires {
			dependents[r] = append(dependents[r], s.Name)
		}
	}
	for name, pid := range pids {
		h.sys.Root.Send(pid, &SetDependents{Names: dependents[name]})
	}
	return pids
}

// async sends a client's request and returns where its answer comes.
func (h *harness) async(pid *actor.PID, action string, args ...string) <-chan wire.Reply {
	ch := make(chan wire.Reply, 1)
	h.sys.Root.Send(pid, &Request{Req: wire.Request{Action: action, Args: args}, Who: "test", Reply: ch})
	return ch
}

// await is the answer on ch.
func (h *harness) await(ch <-chan wire.Reply, what string) wire.Reply {
	h.t.Helper()
	select {
	case rep := <-ch:
		return rep
	case <-time.After(20 * time.Second):
		h.t.Fatalf("%s: no answer", what)
		return wire.Reply{}
	}
}

// result decodes the ActionResult of a successful reply.
func (h *harness) result(rep wire.Reply, what string) wire.ActionResult {
	h.t.Helper()
	if !rep.OK {
		h.t.Fatalf("%s: %+v", what, rep.Error)
	}
	var res wire.ActionResult
	if err := jsonUnmarshal(rep.Result, &res); err != nil {
		h.t.Fatal(err)
	}
	return res
}

// waitStatus polls a controller's status until cond holds.
func (h *harness) waitStatus(pid *actor.PID, what string, cond func(wire.Status) bool) wire.Status {
	h.t.Helper()
	var st wire.Status
	waitFor(h.t, what, func() bool { st = h.status(pid); return cond(st) })
	return st
}

// events are a service's durable history events of the given kinds (all
// kinds if none).
func (h *harness) events(name string, kinds ...string) []history.Event {
	h.t.Helper()
	evs, err := h.store.Scan(history.Query{Service: name})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(kinds) == 0 {
		return evs
	}
	var out []history.Event
	for _, e := range evs {
		if slices.Contains(kinds, e.Kind) {
			out = append(out, e)
		}
	}
	return out
}

// call asks a controller as a client would.
func (h *harness) call(pid *actor.PID, action string) wire.Reply {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := Ask(ctx, h.sys.Root.Send, pid, func(ch chan<- wire.Reply) any {
		return &Request{Req: wire.Request{Action: action}, Who: "test", Reply: ch}
	})
	if err != nil {
		h.t.Fatalf("%s: %v", action, err)
	}
	return rep
}

// status is a controller's detailed status.
func (h *harness) status(pid *actor.PID) wire.Status {
	h.t.Helper()
	var s wire.Status
	rep := h.call(pid, "status")
	if !rep.OK {
		h.t.Fatalf("status: %+v", rep.Error)
	}
	if err := jsonUnmarshal(rep.Result, &s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freeze freezes the named controllers as a re-exec does, retrying until
// all are at rest and ok accepts what they saved; it returns their state
// after a trip through JSON, as the handover file carries it.
func (h *harness) freeze(ok func(map[string]Saved) bool, names ...string) map[string]Saved {
	h.t.Helper()
	end := time.Now().Add(20 * time.Second)
	for {
		saved := map[string]Saved{}
		frozen := make(chan Frozen, len(names))
		for _, name := range names {
			h.sys.Root.Send(h.controllers[name], &Freeze{Reply: frozen})
		}
		var errs []error
		for range names {
			f := <-frozen
			if f.Err != nil {
				errs = append(errs, f.Err)
				continue
			}
			b, err := json.Marshal(f.Saved)
			if err != nil {
				h.t.Fatal(err)
			}
			var s Saved
			if err := json.Unmarshal(b, &s); err != nil {
				h.t.Fatal(err)
			}
			if s.PIDFD > 0 {
				// What execve would pass on: a descriptor of the new
				// binary's own (the old controller closes its own).
				if s.PIDFD, err = unix.FcntlInt(uintptr(s.PIDFD), unix.F_DUPFD_CLOEXEC, 3); err != nil {
					h.t.Fatal(err)
				}
			}
			saved[f.Name] = s
		}
		if len(errs) == 0 && ok(saved) {
			return saved
		}
		for _, name := range names {
			h.sys.Root.Send(h.controllers[name], &Thaw{})
		}
		if time.Now().After(end) {
			h.t.Fatalf("freeze: %v %+v", errs, saved)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
