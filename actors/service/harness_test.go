package service

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services/config"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestMain lets the test binary serve as the trampoline.
func TestMain(m *testing.M) {
	proc.RunTrampolineIfAsked()
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
	wg    sync.WaitGroup
	log   syncLog
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
	h := &harness{t: t, sys: actor.NewActorSystem(), reg: &registryFake{summaries: map[string]wire.Summary{}}}
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
	h.env = Env{Go: goGo, Logf: h.log.logf, Monitor: mon, Historian: hist, Registry: reg, History: h.store,
		BaseEnv: BaseEnvironment(), UID: os.Geteuid(), Send: h.sys.Root.Send}
	t.Cleanup(func() {
		h.sys.Root.StopFuture(mon).Wait()
		pump.Stop()
		close(stop)
		h.sys.Root.StopFuture(hist).Wait()
		h.wg.Wait()
		h.store.Close()
	})
	return h
}

// add starts the controller (and logger) of the service a YAML snippet
// defines, as the registry would; it returns the controller's address.
func (h *harness) add(yaml string) *actor.PID {
	h.t.Helper()
	specs, errs := config.Parse("test.yaml", []byte("services:\n"+yaml), config.SystemAccounts{})
	if err := errs.Err(); err != nil {
		h.t.Fatal(err)
	}
	var pid *actor.PID
	for _, s := range specs {
		logger, err := h.sys.Root.SpawnNamed(NewLoggerProps(s.Name, filepath.Join(h.t.TempDir(), s.Name+".log"), -1, s.LogRotate, h.log.logf), "registry/log:"+s.Name)
		if err != nil {
			h.t.Fatal(err)
		}
		if pid, err = h.sys.Root.SpawnNamed(NewController(h.env, s, logger).Props(), ControllerPID(h.env.Registry, s.Name).Id); err != nil {
			h.t.Fatal(err)
		}
	}
	return pid
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
