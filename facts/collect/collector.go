package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/query"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

// KindCursor is the record kind of a collector's cursor of each host:
// key the host's name, value the host's State as JSON (its Cursor's
// fields and counts). It is written in the batch of the events and facts
// it counts.
const KindCursor = "collect-cursor"

// StatusAction is the request for the collector's status (herd collect),
// the daemon owner's.
const StatusAction = "collect-status"

// maxPages bounds the pages of one round of one host; the rest waits for
// the next round.
const maxPages = 100

// Env is what the collector needs of the daemon.
type Env struct {
	Store *history.Store
	// Write hands records to the daemon's history writer and returns once
	// they were written (or the writer gave up on them). Default: a
	// historian.Record sent to Historian from Root, waited on.
	Write     func(recs []history.Record)
	Root      *actor.RootContext
	Historian *actor.PID
	// Dial connects to a sturdyref's daemon over libp2p.
	Dial func(ctx context.Context, ref capability.Sturdyref) (*local.Client, error)
	// Go runs f on an accounted goroutine; Life ends when the daemon
	// stops.
	Go   func(f func())
	Life context.Context
	Logf func(format string, args ...any)
	// CallTimeout bounds one pull (dial and page). Default 30s.
	CallTimeout time.Duration
	// Retention is how long what was pulled is kept (by the time of each
	// event and sample). Default 30 days.
	Retention time.Duration
	// MaxPages bounds the pages of one round of one host. Default 100.
	MaxPages int
}

// Collector pulls the hosts of a daemon's collect: list and says how it
// goes (Serve). A daemon with no collect: list has one with no hosts.
type Collector struct {
	env   Env
	hosts []monitorconfig.CollectHost
	mu    sync.Mutex
	// status is each host's, by name; a host's pull loop updates its
	// own entry, Serve copies them.
	status map[string]*wire.CollectHost // guarded by mu
}

// Start reads the collect list of the configuration at path and pulls
// each host on its own goroutine until env.Life ends.
func Start(env Env, path string) *Collector {
	if path == "" {
		return StartHosts(env, nil)
	}
	cfg, _, err := config.ParsePath(path, nil)
	if err != nil {
		return StartHosts(env, nil) // the daemon's start reported a bad configuration
	}
	return StartHosts(env, cfg.Collect)
}

// StartHosts pulls the given hosts.
func StartHosts(env Env, hosts []monitorconfig.CollectHost) *Collector {
	if env.CallTimeout <= 0 {
		env.CallTimeout = 30 * time.Second
	}
	if env.Logf == nil {
		env.Logf = func(string, ...any) {}
	}
	if env.Write == nil {
		root, h, life := env.Root, env.Historian, env.Life
		env.Write = func(recs []history.Record) {
			done := make(chan struct{})
			root.Send(h, &historian.Record{Records: recs, Sync: true, Done: done})
			select {
			case <-done:
			case <-life.Done():
			}
		}
	}
	if env.Retention <= 0 {
		env.Retention = 30 * 24 * time.Hour
	}
	c := &Collector{env: env, hosts: slices.Clone(hosts), status: map[string]*wire.CollectHost{}}
	for i, h := range c.hosts {
		if h.PageSize <= 0 || h.PageSize > MaxItems {
			c.hosts[i].PageSize = MaxItems
		}
		c.status[h.Name] = &wire.CollectHost{Host: h.Name, Interval: h.Interval, PageSize: c.hosts[i].PageSize}
	}
	for _, h := range c.hosts { // the map is whole before a loop reads it
		env.Go(func() { c.loop(h) })
	}
	return c
}

// Status is how the pulls of each host go, in the collect list's order.
func (c *Collector) Status() wire.CollectStatus {
	out := wire.CollectStatus{Hosts: []wire.CollectHost{}}
	if c == nil {
		return out
	}
	out.Configured = len(c.hosts) > 0
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, h := range c.hosts {
		st := *c.status[h.Name]
		if st.Behind != nil {
			b := *st.Behind
			st.Behind = &b
		}
		out.Hosts = append(out.Hosts, st)
	}
	return out
}

// Serve answers StatusAction (the daemon routes it here for its owner).
func (c *Collector) Serve(req wire.Request) wire.Reply {
	if req.Action != StatusAction || len(req.Args) > 0 {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%s: no arguments", StatusAction))
	}
	return wire.OKReply(req.ID, c.Status())
}

// update changes host's status.
func (c *Collector) update(host string, f func(*wire.CollectHost)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.status[host]; st != nil {
		f(st)
	}
}

// stored sets what host's status says of its stored state.
func (c *Collector) stored(host string, st State) {
	c.update(host, func(x *wire.CollectHost) {
		x.Seq, x.Head, x.Events, x.Facts, x.LastSuccess, x.Behind = st.Seq, st.Head, st.Events, st.Facts, st.Stored, nil
		if st.Head > 0 && st.Head >= st.Seq {
			b := st.Head - st.Seq
			x.Behind = &b
		}
	})
}

func (c *Collector) loop(h monitorconfig.CollectHost) {
	env := c.env
	cur, err := LoadState(env.Store, h.Name)
	if err != nil {
		env.Logf("collect: host %s: %v; pulling from the start", h.Name, err)
	}
	c.stored(h.Name, cur)
	t := time.NewTimer(0)
	defer t.Stop()
	var retained time.Time
	for {
		select {
		case <-env.Life.Done():
			return
		case <-t.C:
		}
		c.update(h.Name, func(x *wire.CollectHost) { x.Pulling, x.LastPull, x.Rounds = true, time.Now(), x.Rounds+1 })
		cur, err = c.round(h, cur)
		c.update(h.Name, func(x *wire.CollectHost) {
			x.Pulling = false
			if err == nil {
				x.Failures = 0
				return
			}
			x.Failures++
			x.Error, x.ErrorTime = err.Error(), time.Now()
		})
		if err != nil {
			env.Logf("collect: host %s: %v (next try in %s)", h.Name, err, h.Interval)
		}
		if now := time.Now(); now.Sub(retained) >= time.Hour {
			retained = now
			for range 100 { // bounded batches, at most 100 a round
				dels, err := Expired(env.Store, h.Name, now.Add(-env.Retention), 5000)
				if err != nil {
					env.Logf("collect: host %s: retention: %v", h.Name, err)
				}
				if len(dels) == 0 {
					break
				}
				env.Write(dels)
			}
		}
		t.Reset(h.Interval)
	}
}

// Expired returns the deletions of what was pulled of host before
// before, at most limit: fact samples by time, and events from the
// oldest sequence on while they are older (sequences follow time, but
// for a clock set back, whose older events wait for the next ones).
func Expired(s *history.Store, host string, before time.Time, limit int) ([]history.Record, error) {
	dels, err := facts.Reader{Store: s}.Expired(host, before, limit)
	if err != nil || len(dels) >= limit {
		return dels, err
	}
	err = s.EachRecord(query.KindHostEvent, host+"\x00", host+"\x01", func(k string, v []byte) error {
		var e history.Event
		if len(dels) >= limit || json.Unmarshal(v, &e) == nil && !e.Time.Before(before) {
			return errStop
		}
		dels = append(dels, history.Record{Kind: query.KindHostEvent, Key: k})
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return dels, err
}

var errStop = errors.New("stop")

// State is what a collector keeps of a host, in its cursor record: the
// cursor, the host's last sequence as of the last page (Head), the
// events and samples stored in all, and when the last page was.
type State struct {
	Cursor
	Head   uint64    `json:"head,omitempty"`
	Events uint64    `json:"events,omitempty"`
	Facts  uint64    `json:"facts,omitempty"`
	Stored time.Time `json:"stored,omitzero"`
}

// LoadState is the state kept of host (the zero one if none).
func LoadState(s *history.Store, host string) (State, error) {
	var st State
	b, err := s.Record(KindCursor, host)
	if err != nil || b == nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("bad cursor record: %v", err)
	}
	return st, nil
}

// LoadCursor is the cursor kept of host (the zero one if none).
func LoadCursor(s *history.Store, host string) (Cursor, error) {
	st, err := LoadState(s, host)
	return st.Cursor, err
}

// Round is one round of host h after cur, as the host's loop pulls it
// (bench/factsbench pulls its hosts in turns through it); h need not be
// in the collect list.
func (c *Collector) Round(h monitorconfig.CollectHost, cur State) (State, error) {
	if h.PageSize <= 0 || h.PageSize > MaxItems {
		h.PageSize = MaxItems
	}
	return c.round(h, cur)
}

// round pulls host's pages after cur until it has no more (or maxPages)
// and returns the state of what is now in the store.
func (c *Collector) round(h monitorconfig.CollectHost, cur State) (State, error) {
	env := c.env
	ref, err := capability.ParseSturdyref(h.Ref)
	if err != nil {
		return cur, fmt.Errorf("ref: %v", err)
	}
	ctx, cancel := context.WithTimeout(env.Life, env.CallTimeout)
	defer cancel()
	conn, err := env.Dial(ctx, ref)
	if err != nil {
		return cur, fmt.Errorf("unreachable: %v", err)
	}
	defer conn.Close()
	pagesLeft := maxPages
	if env.MaxPages > 0 {
		pagesLeft = env.MaxPages
	}
	for range pagesLeft {
		pctx, pcancel := context.WithTimeout(env.Life, env.CallTimeout)
		reply, err := conn.Call(pctx, RequestPage(h.Ref, cur.Cursor, h.PageSize))
		pcancel()
		switch {
		case err != nil:
			return cur, fmt.Errorf("pull: %v", err)
		case !reply.OK && reply.Error != nil:
			return cur, fmt.Errorf("pull refused: %s", reply.Error.Message)
		case !reply.OK:
			return cur, fmt.Errorf("pull refused")
		}
		var p Page
		if err := json.Unmarshal(reply.Result, &p); err != nil {
			return cur, fmt.Errorf("bad page: %v", err)
		}
		recs, next, err := StateRecords(h.Name, cur, &p, time.Now())
		if err != nil {
			return cur, fmt.Errorf("bad page: %v", err)
		}
		env.Write(recs)
		stored, err := LoadState(env.Store, h.Name)
		if err != nil || stored.Cursor != next.Cursor || stored.Events != next.Events || stored.Facts != next.Facts {
			return cur, fmt.Errorf("the history did not take the page (%v); it is pulled again", err)
		}
		cur = next
		c.stored(h.Name, cur)
		if p.Head > 0 && p.Head < cur.Seq {
			return cur, fmt.Errorf("the host's last event is %d, before the cursor's %d: its history was wiped or replaced, and its new events are not pulled (see docs/query.md)", p.Head, cur.Seq)
		}
		if !p.More {
			return cur, nil
		}
	}
	return cur, nil
}

// Records checks a page pulled from host after cur (hostile bytes) and
// makes its records: the events as host-event records, the facts with
// their host set, and the host's new cursor, for one batch. Every key
// starts with the configured host name, never one the page gives.
func Records(host string, cur Cursor, p *Page) ([]history.Record, error) {
	recs, _, err := StateRecords(host, State{Cursor: cur}, p, time.Time{})
	return recs, err
}

// StateRecords is Records after the state st, stored at now: the last
// record is the host's next state (its cursor and counts), returned.
func StateRecords(host string, st State, p *Page, now time.Time) ([]history.Record, State, error) {
	cur := st.Cursor
	switch {
	case len(p.Events)+len(p.Facts) > MaxItems:
		return nil, st, fmt.Errorf("%d items (at most %d)", len(p.Events)+len(p.Facts), MaxItems)
	case p.Next.Check() != nil:
		return nil, st, fmt.Errorf("bad next cursor")
	case p.Next.Seq < cur.Seq || p.Next.Fact < cur.Fact:
		return nil, st, fmt.Errorf("the next cursor goes back")
	}
	recs := make([]history.Record, 0, len(p.Events)+2*len(p.Facts)+1)
	last := cur.Seq
	for _, e := range p.Events {
		if e.Seq <= last || e.Seq > p.Next.Seq || e.Kind == "" {
			return nil, st, fmt.Errorf("event %d out of order or without a kind", e.Seq)
		}
		last = e.Seq
		b, err := json.Marshal(e)
		if err != nil {
			return nil, st, err
		}
		recs = append(recs, history.Record{Kind: query.KindHostEvent, Key: query.HostEventKey(host, e.Seq), Value: b})
	}
	fs := make([]facts.Fact, 0, len(p.Facts))
	for i, raw := range p.Facts {
		f, err := facts.Decode(raw, time.Time{})
		if err != nil {
			return nil, st, fmt.Errorf("fact %d: %v", i, err)
		}
		f.Host = host
		fs = append(fs, f)
	}
	slices.SortStableFunc(fs, func(a, b facts.Fact) int { return a.Time.Compare(b.Time) })
	recs = append(recs, facts.Records(fs)...)
	next := State{Cursor: p.Next, Head: p.Head, Events: st.Events + uint64(len(p.Events)), Facts: st.Facts + uint64(len(fs)), Stored: now.UTC().Round(0)}
	b, _ := json.Marshal(next)
	recs = append(recs, history.Record{Kind: KindCursor, Key: host, Value: b})
	return recs, next, nil
}
