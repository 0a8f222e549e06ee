package factsbench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/facts/collect"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/p2p"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/query"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

// Options of a run.
type Options struct {
	Dir    string // where the stores go (a fresh directory)
	Hosts  int    // default 50
	Days   int    // default 30
	Rounds int    // query repetitions, default 7
	// Parallel bounds the hosts generated and pulled at once. Default 4.
	Parallel int
	Out      io.Writer
	// Reuse takes the hosts' stores a run left in Dir (BENCH_KEEP=1)
	// instead of seeding them again; the collector goes on from its
	// cursors.
	Reuse bool
	// Budget bounds the collection (0: none). Past it, the pulls stop
	// and the queries run on what was collected: all the events (a
	// page holds a host's events before its samples) and the latest
	// value of every fact, the samples of the first days only.
	Budget time.Duration
}

// The seed question and its three companions, as docs/query.md writes
// them (and query's tests run them).
var Queries = []struct{ Name, SQL string }{
	{"seed question", `SELECT DISTINCT e.host, e.service
FROM events e
JOIN hosts h ON h.host = e.host
JOIN packages p ON p.host = e.host AND p.name = 'nginx' AND (p.upstream = '1.22' OR p.upstream LIKE '1.22.%')
WHERE e.kind IN ('exit', 'failed-start') AND e.time >= ago('30d')
  AND h.mem_total < 4 * 1024 * 1024 * 1024
ORDER BY e.host, e.service`},
	{"disk / > 90% + failed", `SELECT DISTINCT d.host FROM disks d JOIN services s ON s.host = d.host
WHERE d.mount = '/' AND d.used_pct > 90 AND s.state = 'failed' ORDER BY d.host`},
	{"> 5 restarts this week", `SELECT host, service, count(*) AS restarts FROM events
WHERE kind = 'respawn' AND time >= ago('7d')
GROUP BY host, service HAVING count(*) > 5 ORDER BY host, service`},
	{"minority package versions", `WITH counts AS (SELECT name, version, count(*) AS n FROM packages GROUP BY name, version),
majority AS (SELECT name, version FROM counts c WHERE n = (SELECT max(n) FROM counts WHERE name = c.name))
SELECT p.host, p.name, p.version FROM packages p
WHERE p.name IN (SELECT name FROM majority) AND p.version NOT IN (SELECT version FROM majority m WHERE m.name = p.name)
ORDER BY p.host, p.name`},
}

// Target is the seed query's.
const Target = 200 * time.Millisecond

// Run runs the section and prints what it measured.
func Run(o Options) error {
	if o.Hosts <= 0 {
		o.Hosts = 50
	}
	if o.Days <= 0 {
		o.Days = 30
	}
	if o.Rounds <= 0 {
		o.Rounds = 7
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	out := o.Out
	end := time.Now().UTC().Truncate(time.Hour)
	fmt.Fprintf(out, "facts: %d hosts, %d days of history, one sample a minute of 11 facts, %d packages daily\n", o.Hosts, o.Days, numPackages)

	// 1. The hosts' stores.
	t0 := time.Now()
	stores := make([]*history.Store, o.Hosts)
	defer func() {
		for _, s := range stores {
			if s != nil {
				s.Close()
			}
		}
	}()
	var samples, events atomic.Int64
	err := parallel(o.Hosts, o.Parallel, func(i int) error {
		s, err := history.Open(filepath.Join(o.Dir, "hosts", hostProfile(i).name))
		if err != nil {
			return err
		}
		stores[i] = s
		if o.Reuse {
			return nil
		}
		n, e, err := generate(s, i, end, o.Days)
		samples.Add(int64(n))
		events.Add(int64(e))
		return err
	})
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	gen := time.Since(t0)
	if o.Reuse {
		end, err = lastSample(stores[0])
		if err != nil {
			return err
		}
	}
	if !o.Reuse {
		fmt.Fprintf(out, "  %-34s %9.1f s    %d samples, %d events, %.0f samples/s, stores %s\n", "seeding the hosts' stores", gen.Seconds(),
			samples.Load(), events.Load(), float64(samples.Load())/gen.Seconds(), size(filepath.Join(o.Dir, "hosts")))
	}

	// 2. Exporters: one libp2p host per store serving facts-pull.
	exps := make([]*exporter, o.Hosts)
	defer func() {
		for _, e := range exps {
			if e != nil {
				e.close()
			}
		}
	}()
	for i := range o.Hosts {
		if exps[i], err = newExporter(stores[i]); err != nil {
			return fmt.Errorf("exporter %d: %w", i, err)
		}
	}
	coll, err := history.Open(filepath.Join(o.Dir, "collector"))
	if err != nil {
		return err
	}
	defer coll.Close()
	ch, err := newHost()
	if err != nil {
		return err
	}
	defer ch.Close()

	// 3. The collection, every host at once (o.Parallel at a time).
	var bytesIn, pages, pulled atomic.Int64
	t0 = time.Now()
	life, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := collect.Env{
		Store: coll,
		Write: func(recs []history.Record) {
			pages.Add(1)
			for _, r := range recs {
				if r.Kind == facts.KindSample {
					pulled.Add(1)
				}
			}
			if err := coll.Write(nil, recs, true); err != nil {
				fmt.Fprintf(out, "  collector write: %v\n", err)
			}
		},
		Dial: func(ctx context.Context, ref capability.Sturdyref) (*local.Client, error) {
			c, err := ch.Dial(ctx, ref.Peer, ref.Addrs)
			if err != nil {
				return nil, err
			}
			return local.NewClient(&counted{Conn: c, n: &bytesIn}), nil
		},
		Go:          func(f func()) { go f() },
		Life:        life,
		CallTimeout: 30 * time.Second,
		Logf:        func(f string, a ...any) { fmt.Fprintf(out, "  "+f+"\n", a...) },
	}
	// Passes over every host, a round of at most 10 pages each, as the
	// collector's loops take turns, until no host has more (or the
	// budget is spent: every host had its first rounds by then).
	env.MaxPages = 10
	collector := collect.StartHosts(env, nil) // no loops: the bench takes the turns
	done := make([]bool, o.Hosts)
	complete := false
	for !complete {
		if o.Budget < 0 || o.Budget > 0 && time.Since(t0) > o.Budget {
			break
		}
		var left atomic.Int64
		err = parallel(o.Hosts, o.Parallel, func(i int) error {
			if done[i] {
				return nil
			}
			h := monitorconfig.CollectHost{Name: hostProfile(i).name, Ref: exps[i].ref, Interval: time.Minute}
			cur, err := collect.LoadState(coll, h.Name)
			if err != nil {
				return err
			}
			next, err := collector.Round(h, cur)
			if err != nil {
				return fmt.Errorf("host %s: %w", h.Name, err)
			}
			if done[i] = next.Cursor == cur.Cursor; !done[i] {
				left.Add(1)
			}
			return nil
		})
		if err != nil {
			break
		}
		complete = left.Load() == 0
	}
	if err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	took := time.Since(t0)
	fmt.Fprintf(out, "  %-34s %9.1f s    %d pages, %d samples, %.1f MiB received, %.0f samples/s, store %s\n", "collecting over libp2p", took.Seconds(),
		pages.Load(), pulled.Load(), float64(bytesIn.Load())/(1<<20), float64(pulled.Load())/took.Seconds(), size(filepath.Join(o.Dir, "collector")))
	if !complete && pulled.Load() == 0 {
		fmt.Fprintf(out, "  (no collection: the queries run on what the collector kept)\n")
		return queries(o, stores, exps, coll, collector, end, false)
	}
	if !complete {
		all := int64(o.Hosts) * int64(o.Days) * (1440*11 + 24*2 + numPackages)
		fmt.Fprintf(out, "  %-34s %9.1f s    at that rate for the %d samples of the hosts (budget %s reached: the queries run on every event and latest value, the samples pulled so far)\n",
			"collection, extrapolated", float64(all)/(float64(pulled.Load())/took.Seconds()), all, o.Budget)
		return queries(o, stores, exps, coll, collector, end, false)
	}
	// A second round finds nothing new: the cursors hold.
	t0 = time.Now()
	before := pages.Load()
	err = parallel(o.Hosts, o.Parallel, func(i int) error {
		h := monitorconfig.CollectHost{Name: hostProfile(i).name, Ref: exps[i].ref, Interval: time.Minute}
		cur, err := collect.LoadState(coll, h.Name)
		if err != nil {
			return err
		}
		_, err = collector.Round(h, cur)
		return err
	})
	if err != nil {
		return fmt.Errorf("second round: %w", err)
	}
	fmt.Fprintf(out, "  %-34s %9.1f ms   %d pages with nothing new\n", "a round with nothing new", ms(time.Since(t0)), pages.Load()-before)

	// 4. The queries on the collector's store, as herd query runs them.
	return queries(o, stores, exps, coll, collector, end, true)
}

// queries times the seed query and its companions on the collector's
// store: cold (a daemon's first query, its cache empty), warm (each
// after a pull of one more minute of every host, as a collector pulling
// every minute has), and reading the store whole each time
// (query.FromStore); then the baseline, a plain pebble scan of every
// sample.
func queries(o Options, stores []*history.Store, exps []*exporter, coll *history.Store, collector *collect.Collector, end time.Time, pull bool) error {
	out := o.Out
	now := end
	cache := query.NewCache(coll, "collector")
	run := func(in query.Input, err error, sql string) (*query.Result, error) {
		if err != nil {
			return nil, err
		}
		return query.Run(context.Background(), in, sql, query.Options{MaxRows: 100000})
	}
	t0, c0 := time.Now(), cpuTime()
	in, err := cache.Input(context.Background(), now, 0)
	res, err := run(in, err, Queries[0].SQL)
	if err != nil {
		return fmt.Errorf("%s: %w", Queries[0].Name, err)
	}
	fmt.Fprintf(out, "  %-34s %9.1f ms   (CPU %.1f ms) %d rows (reads every event and latest value once)\n", "query cold: seed question", ms(time.Since(t0)), ms(cpuTime()-c0), len(res.Rows))
	minute := 0
	more := func() error { // one more minute of every host, pulled
		if !pull {
			return nil // a backlog to pull: no more
		}
		minute++
		t := end.Add(time.Duration(minute) * time.Minute)
		return parallel(len(stores), o.Parallel, func(i int) error {
			fs := []facts.Fact{numFact("host", "load.1", 0.5, "", t), numFact("host", "memory.available", 1e9, "bytes", t)}
			if err := stores[i].Write(nil, facts.Records(fs), false); err != nil {
				return err
			}
			h := monitorconfig.CollectHost{Name: hostProfile(i).name, Ref: exps[i].ref, Interval: time.Minute}
			cur, err := collect.LoadState(coll, h.Name)
			if err == nil {
				_, err = collector.Round(h, cur)
			}
			return err
		})
	}
	for _, q := range Queries {
		var warm, cpu, whole []time.Duration
		var rows int
		for range o.Rounds {
			if err := more(); err != nil {
				return fmt.Errorf("pull a minute more: %w", err)
			}
			t, c := time.Now(), cpuTime()
			in, err := cache.Input(context.Background(), now, 0)
			res, err := run(in, err, q.SQL)
			if err != nil {
				return fmt.Errorf("%s: %w", q.Name, err)
			}
			warm = append(warm, time.Since(t))
			cpu = append(cpu, cpuTime()-c)
			rows = len(res.Rows)
			t = time.Now()
			in, err = query.FromStore(coll, "collector", now)
			if _, err := run(in, err, q.SQL); err != nil {
				return fmt.Errorf("%s: %w", q.Name, err)
			}
			whole = append(whole, time.Since(t))
		}
		note := ""
		if q.Name == "seed question" {
			note = fmt.Sprintf(", target < %s: %s (wall), %s (CPU)", Target, verdict(median(warm) < Target), verdict(median(cpu) < Target))
		}
		fmt.Fprintf(out, "  %-34s %9.1f ms   median of %d (CPU %.1f ms), %d rows; reading the store whole: %.1f ms%s\n", "query: "+q.Name, ms(median(warm)), o.Rounds, ms(median(cpu)), rows, ms(median(whole)), note)
	}
	// The baseline: one plain scan of every sample the collector holds.
	t0 = time.Now()
	n := 0
	err = coll.EachRecord(facts.KindSample, "", "", func(string, []byte) error { n++; return nil })
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  %-34s %9.1f ms   %d samples, keys and values untouched\n", "baseline: pebble scan of samples", ms(time.Since(t0)), n)
	return nil
}

// lastSample is the hour the samples of a kept run end at.
func lastSample(s *history.Store) (time.Time, error) {
	var last time.Time
	err := s.EachRecord(facts.KindLatest, "", "", func(_ string, v []byte) error {
		if f, err := facts.Decode(v[:len(v)-1], time.Time{}); err == nil && f.Time.After(last) {
			last = f.Time
		}
		return nil
	})
	return last.Truncate(time.Hour).Add(time.Hour), err
}

// cpuTime is the process's user and system time: on a loaded machine,
// what a query cost apart from waiting for a core (nothing else runs in
// the process while a query is timed; the GC's work counts).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// parallel runs f(0..n-1), at most k at once, and returns the first
// error.
func parallel(n, k int, f func(int) error) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	sem := make(chan struct{}, k)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return first
}

func size(dir string) string {
	var n int64
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
}

func newHost() (*p2p.Host, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return p2p.New(p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Memory: 64 << 20, Conns: 128, FDs: 256})
}

// exporter is a host's network side for facts-pull: the daemon's
// routing (daemon/api.go) reduced to the one capability it grants.
type exporter struct {
	host  *p2p.Host
	srv   *local.Server
	swiss capability.Swiss
	ref   string
}

func newExporter(s *history.Store) (*exporter, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	e := &exporter{}
	if e.swiss, err = capability.NewSwiss(); err != nil {
		return nil, err
	}
	cfg := p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Memory: 32 << 20, Conns: 32, FDs: 64}
	e.host, e.srv, err = p2p.NewHostFor(cfg, local.HandlerFunc(func(ctx context.Context, p local.Peer, req wire.Request, out local.Responder) {
		ref, err := capability.ParseSturdyref(req.Cap)
		if err != nil || req.Action != collect.Action || req.Service != capability.FactsTarget ||
			subtle.ConstantTimeCompare(ref.Swiss[:], e.swiss[:]) != 1 {
			out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied")))
			return
		}
		out.Send(collect.Serve(s, req))
	}), func(f func()) { go f() })
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, a := range e.host.Addrs() {
		if !strings.HasPrefix(a, "/unix") {
			addrs = append(addrs, a)
		}
	}
	e.ref = capability.Sturdyref{Peer: e.host.ID(), Swiss: e.swiss, Addrs: addrs}.String()
	return e, nil
}

func (e *exporter) close() {
	e.srv.Close()
	e.host.Close()
}

// counted counts the bytes read from a connection.
type counted struct {
	net.Conn
	n *atomic.Int64
}

func (c *counted) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}
