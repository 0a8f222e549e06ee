package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/actors/proxy"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/config"
)

// TestMain lets the test binary serve as the trampoline.
func TestMain(m *testing.M) {
	proc.RunTrampolineIfAsked()
	os.Exit(m.Run())
}

// harness runs the real registry without a daemon: beneath it real
// controllers, loggers and groups (registry.NewProps spawns them), a real
// monitor, reaper and pump, and a real history writer on a fresh store.
// Only one runs at a time: the reaper is process-wide.
type harness struct {
	t     testing.TB
	dir   string // holds the configuration files and the logs
	sys   *actor.ActorSystem
	env   Env
	store *history.Store
	reg   *actor.PID
	wg    sync.WaitGroup
	log   syncLog
	// vars are the PIDs a script named (pid NAME VAR).
	vars map[string]int
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(strings.TrimRight(fmt.Sprintf(format, args...), "\n") + "\n")
}

// logWriter writes the actor system's own log lines to the harness's log.
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

var errUnreachable = errors.New("no daemon to reach in the harness")

// newHarness starts the registry with files written to a fresh
// directory ($DIR in them names it); services.yaml, if among them, is the configuration, loaded
// and auto-started as the daemon does at its start.
func newHarness(t testing.TB, files map[string]string) *harness {
	return newHarnessWith(t, files, nil)
}

// newHarnessWith is newHarness with the registry's Env changed by edit.
func newHarnessWith(t testing.TB, files map[string]string, edit func(*Env)) *harness {
	h := &harness{t: t, dir: t.TempDir(), vars: map[string]int{}}
	for name, text := range files {
		h.write(name, strings.ReplaceAll(text, "$DIR", h.dir))
	}
	h.sys = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(logWriter{&h.log}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}))
	goGo := func(f func()) {
		h.wg.Add(1)
		go func() { defer h.wg.Done(); f() }()
	}
	var err error
	if h.store, err = history.Open(filepath.Join(h.dir, "history")); err != nil {
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
	h.env = Env{
		Service: service.Env{Go: goGo, Logf: h.log.logf, Monitor: mon, Historian: hist, History: h.store,
			BaseEnv: proc.BaseEnvironment(), UID: os.Geteuid(), Send: h.sys.Root.Send},
		// No other daemon answers here.
		Proxy: proxy.Env{Go: goGo, Logf: h.log.logf, CallTimeout: time.Second,
			Dial: func(context.Context, capability.Sturdyref) (*local.Client, error) { return nil, errUnreachable },
			Ping: func(context.Context, capability.Sturdyref) error { return errUnreachable }},
		Accounts: config.SystemAccounts{},
		LogPath:  func(name string) string { return filepath.Join(h.dir, "logs", name+".log") },
	}
	if edit != nil {
		edit(&h.env)
	}
	cfg := ""
	if _, ok := files["services.yaml"]; ok {
		cfg = h.path("services.yaml")
		h.env.ConfigPath = cfg
	}
	if h.reg, err = h.sys.Root.SpawnNamed(NewProps(h.env), "registry"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Every process goes before the actors that watch them.
		h.stopAll()
		h.sys.Root.StopFuture(h.reg).Wait()
		h.sys.Root.StopFuture(mon).Wait()
		pump.Stop()
		close(stop)
		h.sys.Root.StopFuture(hist).Wait()
		h.wg.Wait()
		h.store.Close()
		if t.Failed() {
			t.Logf("daemon log:\n%s", h.log.String())
		}
	})
	if cfg != "" {
		c, err := config.LoadPath(cfg, h.env.Accounts)
		if err != nil {
			t.Fatal(err)
		}
		res := ask(h, func(ch chan<- RegisterResult) any { return &Register{Specs: c.Services, AutoStart: true, Reply: ch} })
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	return h
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

func (h *harness) write(name, text string) {
	h.t.Helper()
	if err := os.WriteFile(h.path(name), []byte(text), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// ask sends the registry a message built around a reply channel and waits
// for the answer.
func ask[T any](h *harness, build func(chan<- T) any) T {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := service.Ask(ctx, h.sys.Root.Send, h.reg, build)
	if err != nil {
		h.t.Fatalf("no answer from the registry: %v", err)
	}
	return v
}

// daemonActions are the requests that name no service; their words are
// arguments.
var daemonActions = []string{"load", "reload", "cap-import", "log", "graph"}

// request sends a client request: "start web", "scale pool 3", "reload",
// "load extra.yaml" (a relative file is in the harness's directory).
func (h *harness) request(words []string) wire.Reply {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case rep := <-h.send(words):
		return rep
	case <-ctx.Done():
		h.t.Fatalf("%s: no answer from the registry: %v", strings.Join(words, " "), ctx.Err())
		return wire.Reply{}
	}
}

// send sends a client request (as request) without waiting for the answer.
func (h *harness) send(words []string) <-chan wire.Reply {
	req := wire.Request{ID: 1, Action: words[0]}
	rest := words[1:]
	if slices.Contains(daemonActions, req.Action) {
		for i, a := range rest {
			if req.Action == "load" && !filepath.IsAbs(a) {
				rest[i] = h.path(a)
			}
		}
		req.Args = rest
	} else if len(rest) > 0 {
		req.Service, req.Args = rest[0], rest[1:]
	}
	ch := make(chan wire.Reply, 1)
	h.sys.Root.Send(h.reg, &ClientRequest{Req: req, Who: "test", Reply: ch})
	return ch
}

// summaries is what `herd status` would list, by name.
func (h *harness) summaries() map[string]wire.Summary {
	h.t.Helper()
	rep := h.request([]string{"status"})
	var all wire.StatusAll
	if !rep.OK || json.Unmarshal(rep.Result, &all) != nil {
		h.t.Fatalf("status: %+v", rep)
	}
	out := map[string]wire.Summary{}
	for _, s := range all.Services {
		out[s.Name] = s
	}
	return out
}

// status is one service's detailed status.
func (h *harness) status(name string) wire.Status {
	h.t.Helper()
	rep := h.request([]string{"status", name})
	var s wire.Status
	if !rep.OK || json.Unmarshal(rep.Result, &s) != nil {
		h.t.Fatalf("status %s: %+v", name, rep)
	}
	return s
}

// stopAll stops every service, as the daemon's Shutdown does.
func (h *harness) stopAll() {
	h.t.Helper()
	ask(h, func(ch chan<- struct{}) any {
		done := make(chan struct{})
		go func() { <-done; ch <- struct{}{} }()
		return &StopAll{Done: done}
	})
}

// run runs a scenario's script, one command a line ('#' starts a comment):
//
//	ok ACTION [SERVICE] [ARGS] [=> TEXT]   a client request that succeeds;
//	fail ACTION [SERVICE] [ARGS] [=> TEXT] one that fails; TEXT is in the
//	                                       reply's result or error (JSON)
//	state NAME STATE     wait until herd status lists NAME in STATE
//	services NAME...     herd status lists exactly these services
//	pid NAME VAR         VAR is NAME's main PID now; =VAR: it still is
//	dead VAR             process VAR is gone, now (no waiting)
//	alive VAR            process VAR runs
//	waitfile NAME        wait until the directory has file NAME
//	cp FROM TO           copy a file of the directory (a new configuration)
//	stopall              stop every service, as the daemon's shutdown does
func (h *harness) run(script string) {
	h.t.Helper()
	for n, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		if err := h.exec(line); err != nil {
			h.t.Fatalf("line %d: %s: %v", n+1, line, err)
		}
	}
}

func (h *harness) exec(line string) error {
	h.t.Helper()
	cmd, want, _ := strings.Cut(line, "=>")
	want = strings.TrimSpace(want)
	words := strings.Fields(cmd)
	switch words[0] {
	case "ok", "fail":
		rep := h.request(words[1:])
		text := string(rep.Result)
		if rep.Error != nil {
			b, _ := json.Marshal(rep.Error)
			text = string(b)
		}
		if rep.OK != (words[0] == "ok") {
			return fmt.Errorf("got %s", text)
		}
		if !strings.Contains(text, want) {
			return fmt.Errorf("reply %s does not contain %s", text, want)
		}
	case "state":
		name, state := words[1], words[2]
		return waitFor(func() error {
			s, ok := h.summaries()[name]
			if !ok || s.State != state {
				return fmt.Errorf("%s is %+v, want %s", name, s, state)
			}
			return nil
		})
	case "services":
		var names []string
		for n := range h.summaries() {
			names = append(names, n)
		}
		slices.Sort(names)
		if got, want := strings.Join(names, " "), strings.Join(words[1:], " "); got != want {
			return fmt.Errorf("services: %s, want %s", got, want)
		}
	case "pid":
		// The process may run (and touch its file) before its controller
		// has heard that the spawn succeeded: wait for the PID to be known.
		var pid int
		if err := waitFor(func() error {
			if pid = h.status(words[1]).PID; pid == 0 {
				return fmt.Errorf("%s has no process", words[1])
			}
			return nil
		}); err != nil {
			return err
		}
		if v, same := strings.CutPrefix(words[2], "="); same {
			if pid != h.vars[v] {
				return fmt.Errorf("%s's process is %d, was %d", words[1], pid, h.vars[v])
			}
			return nil
		}
		h.vars[words[2]] = pid
	case "dead", "alive":
		pid, ok := h.vars[words[1]]
		if !ok {
			return fmt.Errorf("no PID named %s", words[1])
		}
		err := syscall.Kill(pid, 0)
		if words[0] == "dead" && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("process %d is still there (%v)", pid, err)
		}
		if words[0] == "alive" && err != nil {
			return fmt.Errorf("process %d: %v", pid, err)
		}
	case "waitfile":
		return waitFor(func() error {
			_, err := os.Stat(h.path(words[1]))
			return err
		})
	case "cp":
		b, err := os.ReadFile(h.path(words[1]))
		if err != nil {
			return err
		}
		h.write(words[2], string(b))
	case "stopall":
		h.stopAll()
	default:
		return fmt.Errorf("unknown command %q", words[0])
	}
	return nil
}

// waitFor polls cond until it holds, for at most 30 seconds.
func waitFor(cond func() error) error {
	end := time.Now().Add(30 * time.Second)
	for {
		err := cond()
		if err == nil || time.Now().After(end) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}
