package sections

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/execrunner"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/jobbook"
	"github.com/shepherd-go/shepherd/capability"
	collect "github.com/shepherd-go/shepherd/facts/collect"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/monitors"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/notifier"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/jobs"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

// The sections' names, in the order they start and as a reload reports
// them (wire.ReloadResult.Sections).
const (
	Notify   = "notify"
	Jobs     = "jobs"
	Monitors = "monitors"
	Collect  = "collect"
)

var order = []string{Notify, Jobs, Monitors, Collect}

// DefaultStopWait bounds the wait for an instance's goroutines to end.
const DefaultStopWait = 10 * time.Second

// Env is what the sections need of the daemon.
type Env struct {
	// ConfigPath is the daemon's configuration ("": no sections).
	ConfigPath string
	// Accounts resolves the services' user and group names as the
	// registry does when it reads the same files (config.ParsePath).
	Accounts config.Accounts
	Store    *history.Store
	System   *actor.ActorSystem
	// Historian is the history writer; Monitor the process monitor
	// (the notifier's scripts).
	Historian, Monitor *actor.PID
	// Go runs f on the daemon's accounted goroutines; Life ends when the
	// daemon stops, and every instance's context derives from it.
	Go   func(f func())
	Life context.Context
	Logf func(format string, args ...any)
	// Jobs is the daemon's book of tracked jobs, whose expectations the
	// jobs: section sets.
	Jobs *jobbook.Book
	// Environ is the environment of the monitors' plugins, which run
	// through the process monitor (monitors.ExecRunner).
	Environ []string
	// Dial, CallTimeout: the collector's pulls (facts/collect).
	Dial        func(ctx context.Context, ref capability.Sturdyref) (*local.Client, error)
	CallTimeout time.Duration
	// Retention is how long samples and pulled events are kept.
	Retention time.Duration
	// StopWait bounds the wait for an instance's goroutines at a reload.
	// Default DefaultStopWait.
	StopWait time.Duration
}

// read is the content of the sections, as one reading of the files
// found it.
type read struct {
	notify   *config.Notify
	jobs     []jobs.Expect
	monitors []monitorconfig.Monitor
	collect  []monitorconfig.CollectHost
}

// instance is one running section: its goroutines, counted, and the
// context that ends them.
type instance struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Sections runs the daemon's configuration sections. Its methods may be
// called from any goroutine.
type Sections struct {
	env Env
	// mu serializes Start and Reload; it guards conf, inst and started.
	mu      sync.Mutex
	conf    read                 // guarded by mu
	inst    map[string]*instance // guarded by mu
	started bool                 // guarded by mu; a reload before it re-applies nothing (Start reads the file after)

	notifier  atomic.Pointer[notifier.Notifier]
	monitors  atomic.Pointer[monitors.Monitors]
	collector atomic.Pointer[collect.Collector]
	// base answers facts and query, which no section changes, so that a
	// query is not cut short by a reload of the monitors.
	base *monitors.Monitors
}

// New prepares the sections; until Start, Serve answers that the daemon
// is starting.
func New(env Env) *Sections {
	if env.StopWait <= 0 {
		env.StopWait = DefaultStopWait
	}
	if env.Logf == nil {
		env.Logf = func(string, ...any) {}
	}
	s := &Sections{env: env, inst: map[string]*instance{}}
	s.base = monitors.NewWith(s.monitorsEnv(env.Life), nil)
	return s
}

// Start reads the sections and starts each. A configuration with errors
// (only a re-exec may meet one: the file changed since the daemon
// started) is logged, and what could be read of it runs. An error is a
// notifier that could not read its state.
func (s *Sections) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.read()
	if err != nil {
		s.env.Logf("configuration sections: %v; starting what could be read", err)
	}
	s.conf, s.started = r, true
	for _, name := range order {
		if err := s.start(name, r, nil); err != nil {
			return err
		}
	}
	if len(r.collect) > 0 {
		s.base.WarmQueries() // a collector is asked questions
	}
	return nil
}

// Reload reads the sections again (after the registry accepted the
// configuration) and restarts those whose content changed; it returns
// their names. A configuration that cannot be read now (it changed again
// since the registry read it) changes nothing and is the error.
func (s *Sections) Reload() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started { // Start, about to run, reads the file anew
		return []string{}, nil
	}
	r, err := s.read()
	if err != nil {
		return nil, err
	}
	var redone []string
	for _, name := range order {
		if !reflect.DeepEqual(key(name, s.conf), key(name, r)) {
			redone = append(redone, name)
			s.stop(name)
		}
	}
	if len(redone) == 0 {
		return []string{}, nil
	}
	// What the old instances sent the history writer is in the store
	// before the new ones read it (a cursor, an outbox's deletion).
	s.sync()
	oldMonitors := s.monitors.Load()
	for _, name := range redone {
		_ = s.start(name, r, oldMonitors) // only the daemon's start fails (start logs a reload's failure)
	}
	s.conf = r
	s.env.Logf("reload: applied the changed sections: %s", strings.Join(redone, ", "))
	return redone, nil
}

// Amend adds to the registry's reply to a reload the sections it
// re-applied; a refused reload changed nothing, and is not amended.
func (s *Sections) Amend(rep wire.Reply) wire.Reply {
	if !rep.OK {
		return rep
	}
	var res wire.ReloadResult
	if json.Unmarshal(rep.Result, &res) != nil {
		return rep
	}
	var err error
	if res.Sections, err = s.Reload(); err != nil {
		s.env.Logf("reload: configuration sections: %v", err)
	}
	if res.Sections == nil {
		res.Sections = []string{}
	}
	return wire.OKReply(rep.ID, res)
}

// Handles says whether Serve answers req.
func Handles(req wire.Request) bool {
	return req.Action == "incidents" || req.Action == "notify-test" || monitors.Handles(req.Action) ||
		req.Action == collect.StatusAction && req.Service == ""
}

// Serve answers incidents and notify-test (the notifier), monitors (the
// monitors running now), collect-status (the collector), facts and
// query.
func (s *Sections) Serve(req wire.Request) wire.Reply {
	switch req.Action {
	case "incidents", "notify-test":
		if n := s.notifier.Load(); n != nil {
			return n.Serve(req)
		}
	case "monitors":
		if m := s.monitors.Load(); m != nil {
			return m.Serve(req)
		}
	case collect.StatusAction:
		if c := s.collector.Load(); c != nil {
			return c.Serve(req)
		}
	default:
		return s.base.Serve(req)
	}
	return wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "the daemon is starting: ask again"))
}

// read reads the sections of the configuration.
func (s *Sections) read() (read, error) {
	if s.env.ConfigPath == "" {
		return read{}, nil
	}
	cfg, errs, err := config.ParsePath(s.env.ConfigPath, s.env.Accounts)
	if err != nil {
		return read{}, err
	}
	return read{notify: cfg.Notify, jobs: cfg.Jobs, monitors: cfg.Monitors, collect: cfg.Collect}, errs.Err()
}

// key is what tells whether a section changed: its content, where in
// the files it is written aside.
func key(name string, r read) any {
	switch name {
	case Notify:
		if r.notify == nil {
			return nil
		}
		n := *r.notify
		n.File = ""
		return n
	case Jobs:
		return r.jobs
	case Monitors:
		out := make([]monitorconfig.Monitor, len(r.monitors))
		for i, m := range r.monitors {
			m.Pos = services.Pos{}
			out[i] = m
		}
		return out
	default:
		out := make([]monitorconfig.CollectHost, len(r.collect))
		for i, h := range r.collect {
			h.Pos = services.Pos{}
			out[i] = h
		}
		return out
	}
}

// begin makes a new instance of a section: its context, derived from
// the daemon's life, and its counted goroutine helper.
func (s *Sections) begin(name string) (context.Context, func(func())) {
	ctx, cancel := context.WithCancel(s.env.Life)
	in := &instance{cancel: cancel}
	s.inst[name] = in
	return ctx, func(f func()) {
		in.wg.Add(1)
		s.env.Go(func() {
			defer in.wg.Done()
			f()
		})
	}
}

// stop ends a section's instance: cancels its context and waits for its
// goroutines, at most StopWait (or until the daemon stops).
func (s *Sections) stop(name string) {
	in := s.inst[name]
	if in == nil {
		return
	}
	delete(s.inst, name)
	in.cancel()
	done := make(chan struct{})
	s.env.Go(func() {
		in.wg.Wait()
		close(done)
	})
	t := time.NewTimer(s.env.StopWait)
	defer t.Stop()
	select {
	case <-done:
	case <-s.env.Life.Done():
	case <-t.C:
		s.env.Logf("reload: the %s section's goroutines did not end within %v; starting its new one anyway", name, s.env.StopWait)
	}
}

// sync returns once the history writer committed what was sent to it
// before: it keeps the order of what it is sent, and commits nothing for
// an empty batch, so the barrier deletes a key that is never written.
func (s *Sections) sync() {
	done := make(chan struct{})
	barrier := history.Record{Kind: "reload-barrier", Key: "none"} // nil value: a deletion
	s.env.System.Root.Send(s.env.Historian, &historian.Record{Records: []history.Record{barrier}, Sync: true, Done: done})
	t := time.NewTimer(s.env.StopWait)
	defer t.Stop()
	select {
	case <-done:
	case <-s.env.Life.Done():
	case <-t.C:
		s.env.Logf("reload: the history writer did not commit within %v; starting the sections anyway", s.env.StopWait)
	}
}

// start starts a section's new instance from r; old are the monitors
// that ran before (nil at the daemon's start).
func (s *Sections) start(name string, r read, old *monitors.Monitors) error {
	ctx, goF := s.begin(name)
	switch name {
	case Notify:
		env := notifier.Env{Config: r.notify, Store: s.env.Store, System: s.env.System, Historian: s.env.Historian, Monitor: s.env.Monitor, Go: goF, Logf: s.env.Logf, Life: ctx}
		n, err := notifier.Start(env)
		if err != nil {
			if s.notifier.Load() == nil { // the daemon's start
				return err
			}
			s.env.Logf("reload: %v; no notifications until the next reload", err)
			env.Config = nil
			n, _ = notifier.Start(env) // without a section, it reads nothing
		}
		s.notifier.Store(n)
	case Jobs:
		s.env.Jobs.SetExpect(r.jobs)
		s.env.Jobs.Watch(goF, ctx)
	case Monitors:
		env := s.monitorsEnv(ctx)
		env.Go = goF
		m := monitors.NewWith(env, r.monitors)
		m.Inherit(old)
		m.Start()
		s.monitors.Store(m)
	case Collect:
		s.collector.Store(collect.StartHosts(collect.Env{Store: s.env.Store, Root: s.env.System.Root, Historian: s.env.Historian, Dial: s.env.Dial,
			Go: goF, Life: ctx, Logf: s.env.Logf, CallTimeout: s.env.CallTimeout, Retention: s.env.Retention}, r.collect))
	}
	return nil
}

// monitorsEnv is the environment of monitors that live as long as life.
func (s *Sections) monitorsEnv(life context.Context) monitors.Env {
	env := monitors.Env{Store: s.env.Store, Go: s.env.Go, Life: life, Logf: s.env.Logf, Retention: s.env.Retention, Historian: s.env.Historian}
	if s.env.System != nil {
		env.Root = s.env.System.Root
		env.Run = monitors.ExecRunner(env.Root, execrunner.Env{Monitor: s.env.Monitor, Go: s.env.Go, Environ: s.env.Environ}, life)
	}
	return env
}
