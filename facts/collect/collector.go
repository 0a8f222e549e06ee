package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/query"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

// KindCursor is the record kind of a collector's cursor of each host:
// key the host's name, value the Cursor as JSON. It is written in the
// batch of the events and facts it counts.
const KindCursor = "collect-cursor"

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

// Start reads the collect list of the configuration at path and pulls
// each host on its own goroutine until env.Life ends.
func Start(env Env, path string) {
	if path == "" {
		return
	}
	cfg, _, err := config.ParsePath(path, nil)
	if err != nil || len(cfg.Collect) == 0 {
		return // the daemon's start reported a bad configuration
	}
	StartHosts(env, cfg.Collect)
}

// StartHosts pulls the given hosts.
func StartHosts(env Env, hosts []monitorconfig.CollectHost) {
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
	for _, h := range hosts {
		env.Go(func() { loop(env, h) })
	}
}

func loop(env Env, h monitorconfig.CollectHost) {
	cur, err := LoadCursor(env.Store, h.Name)
	if err != nil {
		env.Logf("collect: host %s: %v; pulling from the start", h.Name, err)
	}
	t := time.NewTimer(0)
	defer t.Stop()
	var retained time.Time
	for {
		select {
		case <-env.Life.Done():
			return
		case <-t.C:
		}
		if cur, err = Round(env, h, cur); err != nil {
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

// LoadCursor is the cursor kept of host (the zero one if none).
func LoadCursor(s *history.Store, host string) (Cursor, error) {
	var cur Cursor
	b, err := s.Record(KindCursor, host)
	if err != nil || b == nil {
		return cur, err
	}
	if err := json.Unmarshal(b, &cur); err != nil {
		return Cursor{}, fmt.Errorf("bad cursor record: %v", err)
	}
	return cur, nil
}

// Round pulls host's pages after cur until it has no more (or maxPages)
// and returns the cursor of what is now in the store.
func Round(env Env, h monitorconfig.CollectHost, cur Cursor) (Cursor, error) {
	ref, err := capability.ParseSturdyref(h.Ref)
	if err != nil {
		return cur, fmt.Errorf("ref: %v", err)
	}
	ctx, cancel := context.WithTimeout(env.Life, env.CallTimeout)
	defer cancel()
	c, err := env.Dial(ctx, ref)
	if err != nil {
		return cur, fmt.Errorf("unreachable: %v", err)
	}
	defer c.Close()
	pagesLeft := maxPages
	if env.MaxPages > 0 {
		pagesLeft = env.MaxPages
	}
	for range pagesLeft {
		pctx, pcancel := context.WithTimeout(env.Life, env.CallTimeout)
		reply, err := c.Call(pctx, Request(h.Ref, cur))
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
		recs, err := Records(h.Name, cur, &p)
		if err != nil {
			return cur, fmt.Errorf("bad page: %v", err)
		}
		env.Write(recs)
		stored, err := LoadCursor(env.Store, h.Name)
		if err != nil || stored != p.Next {
			return cur, fmt.Errorf("the history did not take the page (%v); it is pulled again", err)
		}
		cur = p.Next
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
	switch {
	case len(p.Events)+len(p.Facts) > MaxItems:
		return nil, fmt.Errorf("%d items (at most %d)", len(p.Events)+len(p.Facts), MaxItems)
	case p.Next.Check() != nil:
		return nil, fmt.Errorf("bad next cursor")
	case p.Next.Seq < cur.Seq || p.Next.Fact < cur.Fact:
		return nil, fmt.Errorf("the next cursor goes back")
	}
	recs := make([]history.Record, 0, len(p.Events)+2*len(p.Facts)+1)
	last := cur.Seq
	for _, e := range p.Events {
		if e.Seq <= last || e.Seq > p.Next.Seq || e.Kind == "" {
			return nil, fmt.Errorf("event %d out of order or without a kind", e.Seq)
		}
		last = e.Seq
		b, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		recs = append(recs, history.Record{Kind: query.KindHostEvent, Key: query.HostEventKey(host, e.Seq), Value: b})
	}
	fs := make([]facts.Fact, 0, len(p.Facts))
	for i, raw := range p.Facts {
		f, err := facts.Decode(raw, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("fact %d: %v", i, err)
		}
		f.Host = host
		fs = append(fs, f)
	}
	slices.SortStableFunc(fs, func(a, b facts.Fact) int { return a.Time.Compare(b.Time) })
	recs = append(recs, facts.Records(fs)...)
	b, _ := json.Marshal(p.Next)
	recs = append(recs, history.Record{Kind: KindCursor, Key: host, Value: b})
	return recs, nil
}
