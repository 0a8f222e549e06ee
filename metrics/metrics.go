package metrics

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/proxy"
	"github.com/shepherd-go/shepherd/actors/registry"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/history/fleetruns"
	"github.com/shepherd-go/shepherd/internal/cgroup"
	"github.com/shepherd-go/shepherd/internal/httpguard"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Options say where the daemon serves its metrics. The zero value serves
// none (the Metrics still gather, for a handler mounted elsewhere).
type Options struct {
	// Addr is the TCP address of /metrics (`--metrics`); a bare port or
	// ":PORT" listens on loopback (127.0.0.1) only.
	Addr string
	// Public serves the metrics to anyone (`--metrics-public`); by
	// default a scrape needs a capability.
	Public bool
	// Timeout bounds the gathering of one scrape: an actor that has not
	// answered by then leaves its series out. Default 5s.
	Timeout time.Duration
	// UsageInterval is how often, at most, the services' cgroups are
	// read (in the background, when a scrape comes): their CPU time and
	// memory are this old at most, plus one scrape. Default 10s.
	UsageInterval time.Duration
	// Listener, when set, is the listening socket a re-exec handed over
	// (the old binary's, on Addr): it is served instead of a new one, so
	// no scrape is refused while the daemon re-executes.
	Listener net.Listener
}

// Env is what the metrics need of the daemon: whom to ask, and how.
type Env struct {
	Root                           *actor.RootContext
	Registry, Historian, Caretaker *actor.PID
	// Store holds the fleet runs (read, never written).
	Store *history.Store
	// Cgroups is the services' root cgroup (nil: none).
	Cgroups *cgroup.Tree
	// PeerID is the daemon's: a capability of another daemon is refused.
	PeerID string
	// Go runs f on an accounted goroutine; Logf writes to the daemon log.
	Go   func(f func())
	Logf func(format string, args ...any)
}

// Metrics gather the daemon's metrics for its handlers (NewHandler) and
// serve them on Options.Addr.
type Metrics struct {
	env     Env
	opts    Options
	queries chan tallyQuery
	done    chan struct{}
	// life ends with Stop: the background reading of the cgroups waits
	// for no actor beyond it.
	life    context.Context
	endLife context.CancelFunc
	stop    sync.Once
	server  *http.Server
	// runtime gathers the Go runtime's and the process's metrics.
	runtime *prometheus.Registry
	addr    net.Addr
	// lim is the listener served (nil: none); detached, that a re-exec
	// took its socket.
	lim      *httpguard.Limited
	detached atomic.Bool
}

// Start starts gathering, and serving on o.Addr if it is set. Stop ends
// both.
func Start(o Options, env Env) (*Metrics, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.UsageInterval <= 0 {
		o.UsageInterval = 10 * time.Second
	}
	m := &Metrics{env: env, opts: o, queries: make(chan tallyQuery), done: make(chan struct{}), runtime: newRuntime()}
	m.life, m.endLife = context.WithCancel(context.Background())
	last := 0
	if env.Store != nil {
		if b, err := env.Store.LastRecord(fleetruns.Kind); err == nil && b != nil {
			var run wire.FleetRun
			if json.Unmarshal(b, &run) == nil {
				last = run.ID
			}
		}
	}
	// Subscribed before Start returns, so before the daemon starts any
	// service: a start whose events the historian wrote before a later
	// subscription would be missing from the tallies for good.
	events := make(chan []history.Event, followBuffer)
	env.Root.Send(env.Historian, &historian.Subscribe{Ch: events})
	env.Go(func() { m.tallyLoop(last, events) })
	if o.Addr == "" {
		return m, nil
	}
	if err := m.serve(); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// Stop stops serving and gathering. A nil Metrics is stopped already.
func (m *Metrics) Stop() {
	if m == nil {
		return
	}
	m.stop.Do(func() {
		if m.server != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			m.server.Shutdown(ctx)
			cancel()
			m.server.Close()
		}
		close(m.done)
		m.endLife()
	})
}

// Addr is where the metrics are served (nil: nowhere).
func (m *Metrics) Addr() net.Addr {
	if m == nil {
		return nil
	}
	return m.addr
}

// tallyQuery asks the tally goroutine for a copy of its tallies: of one
// service (only), or of all, forgetting those not in keep.
type tallyQuery struct {
	only  string
	keep  map[string]bool
	reply chan tallyAnswer
}

// tallyAnswer is a copy of the tallies, and the last reading of the
// services' cgroups (never written after it is made: shared as is).
type tallyAnswer struct {
	tallies *Tallies
	usage   map[string]cgroup.Stats
	// usageTook is how long that reading took.
	usageTook time.Duration
}

// followBuffer is how many batches of events the tally goroutine may
// fall behind the history writer before it is dropped (and subscribes
// again, counting the loss).
const followBuffer = 4096

// tallyLoop owns the Tallies: it follows the committed history events
// and, when asked, reads the fleet runs recorded since the last it read
// (after fleet run number last).
func (m *Metrics) tallyLoop(last int, events chan []history.Event) {
	t := NewTallies()
	subscribe := func() chan []history.Event {
		ch := make(chan []history.Event, followBuffer)
		m.env.Root.Send(m.env.Historian, &historian.Subscribe{Ch: ch})
		return ch
	}
	// The cgroups are read in the background, every UsageInterval and
	// not before a scrape wants them: 1000 services are 2000 files, 30
	// ms on a small machine, which no scrape should wait for.
	var usage map[string]cgroup.Stats
	var usageAt time.Time
	var usageTook time.Duration
	busy := false
	type reading struct {
		usage map[string]cgroup.Stats
		took  time.Duration
	}
	read := make(chan reading, 1)
	refresh := func() {
		if m.env.Cgroups == nil || busy || time.Since(usageAt) < m.opts.UsageInterval {
			return
		}
		busy = true
		m.env.Go(func() {
			t0 := time.Now()
			u := m.readCgroups()
			read <- reading{u, time.Since(t0)}
		})
	}
	refresh()
	defer func() { m.env.Root.Send(m.env.Historian, &historian.Unsubscribe{Ch: events}) }()
	apply := func(evs []history.Event, ok bool) {
		if !ok {
			t.Missed++
			events = subscribe()
			return
		}
		for _, e := range evs {
			t.Apply(e)
		}
	}
	for {
		select {
		case evs, ok := <-events:
			apply(evs, ok)
		case q := <-m.queries:
			// What the writer sent before the query (gather asked it
			// first) is counted before the answer.
		drain:
			for {
				select {
				case evs, ok := <-events:
					apply(evs, ok)
				default:
					break drain
				}
			}
			if q.only == "" {
				last = m.readRuns(t, last)
				t.Forget(q.keep, time.Now().Add(-time.Minute))
			}
			refresh()
			q.reply <- tallyAnswer{t.Copy(q.only), usage, usageTook}
		case r := <-read:
			usage, usageTook, usageAt, busy = r.usage, r.took, time.Now(), false
		case <-m.done:
			return
		}
	}
}

// maxRunsPerScrape bounds the fleet runs one scrape reads from the store.
const maxRunsPerScrape = 1000

// readRuns counts the fleet runs after number last; it returns the last
// it read.
func (m *Metrics) readRuns(t *Tallies, last int) int {
	if m.env.Store == nil {
		return last
	}
	for range maxRunsPerScrape {
		b, err := m.env.Store.Record(fleetruns.Kind, fleetruns.Key(last+1))
		if err != nil || b == nil {
			return last
		}
		last++
		var run wire.FleetRun
		if json.Unmarshal(b, &run) == nil {
			t.ApplyRun(run)
		}
	}
	return last
}

// view is one scrape's copy of what the owners said.
type view struct {
	services []registry.Described
	tallies  *Tallies
	usage    map[string]cgroup.Stats
	// usageTook: how long the reading of usage took (in the background).
	usageTook time.Duration
	proxies   map[string]proxy.Stat
	writer    *historian.WriterStats
	// failed names the sources that did not answer in time.
	failed []string
}

// gather asks every owner for its part: of the whole daemon, or (only)
// of one service.
func (m *Metrics) gather(ctx context.Context, only string) view {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	var v view
	env := m.env
	described, err := service.Ask(ctx, env.Root.Send, env.Registry, func(ch chan<- []registry.Described) any {
		return &registry.Describe{Only: only, Reply: ch}
	})
	if err != nil {
		v.failed = append(v.failed, "registry")
		return v
	}
	v.services = described
	if only != "" && len(described) == 0 {
		return v
	}
	keep := make(map[string]bool, len(described))
	for _, d := range described {
		keep[d.Name] = true
	}
	if only != "" {
		only = described[0].Name
	}
	// The history writer first: once it answers, the events it
	// committed before are in the tally goroutine's channel.
	writer, err := service.Ask(ctx, env.Root.Send, env.Historian, func(ch chan<- historian.WriterStats) any { return &historian.Stats{Reply: ch} })
	if err != nil {
		v.failed = append(v.failed, "history")
	} else if only == "" {
		v.writer = &writer
	}
	// The others answer at once; the cgroups are read meanwhile.
	tallies := make(chan tallyAnswer, 1)
	select {
	case m.queries <- tallyQuery{only: only, keep: keep, reply: tallies}:
	case <-ctx.Done():
		tallies = nil
	case <-m.done:
		tallies = nil
	}
	stats := make(chan proxy.Stat, len(described))
	asked := 0
	for _, d := range described {
		if d.Remote {
			env.Root.Send(service.ControllerPID(env.Registry, d.Name), &proxy.Stats{Reply: stats})
			asked++
		}
	}
	if tallies != nil {
		select {
		case a := <-tallies:
			v.tallies, v.usage, v.usageTook = a.tallies, a.usage, a.usageTook
		case <-ctx.Done():
		}
	}
	if v.tallies == nil {
		v.failed = append(v.failed, "tallies")
	}
	v.proxies = make(map[string]proxy.Stat, asked)
	for range asked {
		select {
		case s := <-stats:
			v.proxies[s.Name] = s
		case <-ctx.Done():
			v.failed = append(v.failed, "proxies")
			return v
		}
	}
	return v
}

// readCgroups reads the CPU time and memory of the services that may
// have processes.
func (m *Metrics) readCgroups() map[string]cgroup.Stats {
	ctx, cancel := context.WithTimeout(m.life, m.opts.Timeout)
	defer cancel()
	described, err := service.Ask(ctx, m.env.Root.Send, m.env.Registry, func(ch chan<- []registry.Described) any { return &registry.Describe{Reply: ch} })
	out := map[string]cgroup.Stats{}
	if err != nil {
		return out
	}
	for _, d := range described {
		if d.Command && d.State != wire.StateStopped && d.State != wire.StateFailed {
			out[d.Name] = m.env.Cgroups.Usage(d.Name)
		}
	}
	return out
}

// handoverGrace is how long a re-exec waits for the scrapes in flight.
const handoverGrace = time.Second

// Detach gives the listening socket up for a re-exec (httpguard.Detach):
// nil, nil when the metrics are served nowhere. Reattach serves it
// again, should the re-exec fail.
func (m *Metrics) Detach() (*os.File, error) {
	if m == nil || m.lim == nil {
		return nil, nil
	}
	m.detached.Store(true)
	return httpguard.Detach(m.server, m.lim, handoverGrace)
}

// Reattach serves the socket Detach gave up again (f: the caller closes
// it).
func (m *Metrics) Reattach(f *os.File) error {
	ln, err := httpguard.Reattach(m.server, f)
	if err != nil {
		return err
	}
	m.serveOn(ln)
	return nil
}
