package monitors

import (
	"bytes"
	"context"
	"fmt"
	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/query"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

// KindAlert is the kind of the history events thresholds raise: Action
// "raise" or "clear"; Who "monitor NAME"; Result the threshold as written
// ("memory.available < 5%"); Message the value that crossed it and the
// subject ("memory.available is 3.2% (< 5%)"). Service is empty. A
// threshold raises once when crossed and clears once when no longer so.
const KindAlert = "alert"

// RunFunc runs a command (a plugin, dpkg-query) and returns its output
// (bounded) and how it ended ("exit 0", "killed by SIGKILL"); ctx's end
// kills it. A failure to start it is err.
type RunFunc func(ctx context.Context, argv []string) (out []byte, status string, ok bool, err error)

// Env is what the monitors need of the daemon.
type Env struct {
	Store *history.Store
	// Write hands events and records to the daemon's history writer.
	// Default: a historian.Record sent to Historian from Root.
	Write     func(evs []history.Event, recs []history.Record)
	Root      *actor.RootContext
	Historian *actor.PID
	// Run runs a plugin's command through the process monitor.
	Run RunFunc
	// Go runs f on an accounted goroutine.
	Go func(f func())
	// Life ends when the daemon stops.
	Life context.Context
	Logf func(format string, args ...any)
	// Now is the clock of samples. Default time.Now.
	Now func() time.Time
	// Host names this host in queries. Default os.Hostname.
	Host string
	// ProcRoot is where /proc's files are read. Default "/proc".
	ProcRoot string
	// OSRelease is the os-release file. Default "/etc/os-release".
	OSRelease string
	// Retention is how long samples are kept. Default 30 days.
	Retention time.Duration
	// PackageCommands are tried in order by the packages monitor.
	// Default dpkg-query, then rpm.
	PackageCommands [][]string
}

// Monitors runs the configured monitors.
type Monitors struct {
	env  Env
	mons []monitorconfig.Monitor
	mu   sync.Mutex                  // guards runs and raised
	runs map[string]*wire.MonitorRun // guarded by mu
	// raised are the thresholds raised now, by monitor and threshold.
	raised map[string]map[string]string // guarded by mu
	// queries keeps what herd query's tables are built from between
	// queries (query.Cache), made at the first.
	queriesOnce sync.Once
	queries     *query.Cache
}

// New prepares the monitors of the configuration at path (an error is
// logged: the daemon's start checked the file); Start runs them.
func New(env Env, path string) *Monitors {
	mons, err := config.LoadMonitors(path)
	if err != nil && env.Logf != nil {
		env.Logf("monitors: %v", err)
	}
	return NewWith(env, mons)
}

// NewWith prepares the given monitors.
func NewWith(env Env, mons []monitorconfig.Monitor) *Monitors {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Host == "" {
		env.Host, _ = os.Hostname()
	}
	if env.ProcRoot == "" {
		env.ProcRoot = "/proc"
	}
	if env.OSRelease == "" {
		env.OSRelease = "/etc/os-release"
	}
	if env.Retention <= 0 {
		env.Retention = 30 * 24 * time.Hour
	}
	if env.PackageCommands == nil {
		env.PackageCommands = [][]string{
			{"dpkg-query", "-W", "-f", "${Package}\t${Version}\n"},
			{"rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n"},
		}
	}
	if env.Logf == nil {
		env.Logf = func(string, ...any) {}
	}
	if env.Write == nil {
		root, h := env.Root, env.Historian
		env.Write = func(evs []history.Event, recs []history.Record) {
			root.Send(h, &historian.Record{Events: evs, Records: recs})
		}
	}
	m := &Monitors{env: env, mons: mons, runs: map[string]*wire.MonitorRun{}, raised: map[string]map[string]string{}}
	for _, c := range mons {
		kind := "built-in"
		if len(c.Command) > 0 {
			kind = "plugin"
		}
		m.runs[c.Name] = &wire.MonitorRun{Name: c.Name, Kind: kind, Command: c.Command, Interval: c.Interval, Timeout: c.Timeout}
	}
	return m
}

func (m *Monitors) newQueries() { m.queries = query.NewCache(m.env.Store, m.env.Host) }

// WarmQueries walks the history into the query cache in the
// background, so that a collector's first herd query is answered as
// fast as the next (the walk of 30 days of 50 hosts' events takes about
// a second of CPU, past the 200 ms a query should take). It walks in
// slices of a second, so that a query asked meanwhile waits for one
// slice at most before it walks the rest itself.
func (m *Monitors) WarmQueries() {
	m.env.Go(func() {
		m.queriesOnce.Do(m.newQueries)
		for m.env.Life.Err() == nil {
			ctx, cancel := context.WithTimeout(m.env.Life, time.Second)
			_, err := m.queries.Input(ctx, m.env.Now(), 0)
			cut := ctx.Err() != nil
			cancel()
			if !cut {
				if err != nil {
					m.env.Logf("query: warming the cache: %v", err)
				}
				return
			}
		}
	})
}

// Start runs each monitor on its own goroutine, and the retention of
// samples, until env.Life ends.
func (m *Monitors) Start() {
	for _, c := range m.mons {
		m.env.Go(func() { m.loop(c) })
	}
	if len(m.mons) > 0 {
		m.env.Go(m.retain)
	}
}

func (m *Monitors) loop(c monitorconfig.Monitor) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-m.env.Life.Done():
			return
		case <-t.C:
		}
		m.Sample(c)
		t.Reset(c.Interval)
	}
}

// Sample runs one monitor once and writes what it learnt.
func (m *Monitors) Sample(c monitorconfig.Monitor) {
	ctx, cancel := context.WithTimeout(m.env.Life, c.Timeout)
	defer cancel()
	start := m.env.Now()
	fs, probs, err := m.sample(ctx, c, start)
	took := m.env.Now().Sub(start)
	if err == nil && ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("ran past its timeout of %s and was killed", c.Timeout)
	}
	if len(fs) > 0 {
		m.env.Write(m.thresholds(c, fs), facts.Records(fs))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.runs[c.Name]
	r.Runs++
	before := r.Error
	r.Last, r.Took, r.Facts, r.Problems, r.Error = start, took, len(fs), nil, ""
	for _, p := range probs {
		r.Problems = append(r.Problems, p.Error())
	}
	if err != nil {
		r.Failures++
		r.Error = err.Error()
	}
	if r.Error != before { // said once, not at every interval
		if r.Error == "" {
			m.env.Logf("monitor %s: works again", c.Name)
		} else {
			m.env.Logf("monitor %s: %s", c.Name, r.Error)
		}
	}
	r.Alerts = r.Alerts[:0]
	for th := range m.raised[c.Name] {
		r.Alerts = append(r.Alerts, th)
	}
	slices.Sort(r.Alerts)
}

func (m *Monitors) sample(ctx context.Context, c monitorconfig.Monitor, now time.Time) ([]facts.Fact, []facts.Problem, error) {
	if len(c.Command) > 0 {
		out, status, ok, err := m.env.Run(ctx, c.Command)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot run %s: %v", c.Command[0], err)
		}
		fs, probs := facts.ReadLines(bytes.NewReader(out), int64(len(out)), now)
		for i := range fs {
			fs[i].Host = "" // a plugin speaks of its own host only
		}
		if !ok {
			return fs, probs, fmt.Errorf("%s: %s", c.Command[0], status)
		}
		if len(fs) == 0 && len(probs) > 0 {
			return nil, probs, fmt.Errorf("printed no fact (%d bad lines; %v)", len(probs), probs[0])
		}
		return fs, probs, nil
	}
	switch c.Name {
	case "load":
		return m.parseProc("loadavg", now, ParseLoadavg)
	case "memory":
		return m.parseProc("meminfo", now, ParseMeminfo)
	case "cpu":
		return m.parseProc("stat", now, ParseCPUs)
	case "uptime":
		return m.parseProc("uptime", now, ParseUptime)
	case "kernel":
		var out []facts.Fact
		if b, err := m.procFile("sys/kernel/osrelease"); err == nil {
			out = append(out, text(hostSubject, "kernel", strings.TrimSpace(string(b)), now))
		}
		if b, err := os.ReadFile(m.env.OSRelease); err == nil {
			if s := ParseOSRelease(b); s != "" {
				out = append(out, text(hostSubject, "os", s, now))
			}
		}
		if len(out) == 0 {
			return nil, nil, fmt.Errorf("neither %s/sys/kernel/osrelease nor %s could be read", m.env.ProcRoot, m.env.OSRelease)
		}
		return out, nil, nil
	case "disk":
		b, err := m.procFile("self/mounts")
		if err != nil {
			return nil, nil, err
		}
		var out []facts.Fact
		var firstErr error
		for _, mount := range ParseMounts(b) {
			fs, err := diskFacts(mount, now)
			if err != nil {
				firstErr = cmp(firstErr, err)
				continue
			}
			out = append(out, fs...)
		}
		if len(out) == 0 && firstErr != nil {
			return nil, nil, firstErr
		}
		return out, nil, nil
	case "packages":
		var errs []string
		for _, argv := range m.env.PackageCommands {
			out, status, ok, err := m.env.Run(ctx, argv)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", argv[0], err))
				continue
			}
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: %s", argv[0], status))
				continue
			}
			return ParsePackages(out, now), nil, nil
		}
		return nil, nil, fmt.Errorf("no package manager answered (%s)", strings.Join(errs, "; "))
	}
	return nil, nil, fmt.Errorf("no built-in monitor %q", c.Name)
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (m *Monitors) parseProc(name string, now time.Time, parse func([]byte, time.Time) ([]facts.Fact, error)) ([]facts.Fact, []facts.Problem, error) {
	b, err := m.procFile(name)
	if err != nil {
		return nil, nil, err
	}
	fs, err := parse(b, now)
	return fs, nil, err
}

// retain deletes samples older than the retention, in bounded batches,
// once an hour (and at the start).
func (m *Monitors) retain() {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-m.env.Life.Done():
			return
		case <-t.C:
		}
		for {
			dels, err := facts.Reader{Store: m.env.Store}.Expired("", m.env.Now().Add(-m.env.Retention), 5000)
			if err != nil {
				m.env.Logf("facts retention: %v", err)
				break
			}
			if len(dels) == 0 {
				break
			}
			m.env.Write(nil, dels)
			if len(dels) < 5000 {
				break
			}
		}
		t.Reset(time.Hour)
	}
}

// Runs is every monitor's last run, by name.
func (m *Monitors) Runs() []wire.MonitorRun {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]wire.MonitorRun, 0, len(m.runs))
	for _, c := range m.mons {
		r := *m.runs[c.Name]
		r.Problems = slices.Clone(r.Problems)
		r.Alerts = slices.Clone(r.Alerts)
		out = append(out, r)
	}
	return out
}
