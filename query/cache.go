package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
)

// Cache keeps, between the queries of one daemon, what the tables are
// built from, so that a query reads only what the store gained since
// the last one (docs/design-notes.md, "Queries at fleet scale"):
//
//   - each host's derived interruptions and service states, with the
//     walker that derived them and the place in the host's events it
//     stopped at (events are appended at the end, by sequence, and
//     retention deletes from the front: when the first event is no
//     longer the one the walk started at, that host is walked again
//     from its new first event, which is what a query without the
//     cache would do);
//   - the latest value of every host, subject and name, decoded once:
//     a query walks the latest records' raw bytes and decodes only
//     those that changed.
//
// What a query sees through the cache is exactly what it would see
// without it. A Cache is safe for concurrent use: refreshing it is
// serialized, and each query gets a snapshot that later refreshes do
// not change.
type Cache struct {
	s     *history.Store
	local string

	mu     sync.Mutex
	hosts  map[string]*walked
	latest map[string]*latestValue // by the record's key
	gen    uint64
}

// walked is one host's events as far as they were walked.
type walked struct {
	first, next string // the first event's key and the key to go on from
	w           *Walker
	lastEvent   time.Time
	events      int
}

type latestValue struct {
	raw []byte
	f   facts.Fact
	ok  bool // decoded; an unreadable record is skipped
	gen uint64
}

// NewCache is an empty cache of store s, whose own events and facts are
// those of host local.
func NewCache(s *history.Store, local string) *Cache {
	return &Cache{s: s, local: local, hosts: map[string]*walked{}, latest: map[string]*latestValue{}}
}

// FromStore is the input of a daemon's store: its own events and facts as
// host local, and the hosts a collector pulled from. It reads the store
// whole; a daemon keeps a Cache instead.
func FromStore(s *history.Store, local string, now time.Time) (Input, error) {
	return NewCache(s, local).Input(context.Background(), now, 0)
}

var errStop = errors.New("stop")

// Input brings the cache up to date with the store and returns a
// snapshot of it as the input of a query at now. maxInput bounds the
// rows derived of one host's events (0: the default of Options). When
// ctx ends first, what was walked so far stays walked: the next query
// goes on from there.
func (c *Cache) Input(ctx context.Context, now time.Time, maxInput int) (Input, error) {
	if maxInput <= 0 {
		maxInput = 2_000_000
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	in := Input{Now: now}
	byHost, err := c.refreshLatest()
	if err != nil {
		return in, err
	}
	names := []string{c.local}
	seen := map[string]bool{c.local: true}
	// The hosts whose events a collector keeps: one seek per host.
	from := ""
	for {
		h := ""
		err := c.s.EachRecord(KindHostEvent, from, "", func(k string, _ []byte) error {
			h, _, _ = strings.Cut(k, "\x00")
			return errStop
		})
		if err != nil && !errors.Is(err, errStop) {
			return in, err
		}
		if h == "" {
			break
		}
		if !seen[h] {
			seen[h] = true
			names = append(names, h)
		}
		from = h + "\x01"
	}
	for h := range byHost {
		if !seen[h] {
			seen[h] = true
			names = append(names, h)
		}
	}
	for h := range c.hosts {
		if !seen[h] {
			delete(c.hosts, h) // retention took all of it
		}
	}
	for _, h := range names {
		wk, err := c.walk(ctx, h, maxInput)
		if err != nil {
			return in, fmt.Errorf("query: read the history of %s: %w", h, err)
		}
		in.Hosts = append(in.Hosts, Host{Name: h, Facts: byHost[h], Derived: &Derived{
			Interruptions: wk.w.Out[:len(wk.w.Out):len(wk.w.Out)],
			States:        maps.Clone(wk.w.state),
			LastEvent:     wk.lastEvent,
		}})
	}
	return in, nil
}

// refreshLatest reads the latest records, decoding the changed ones,
// and returns each host's facts (host "" is the local one).
func (c *Cache) refreshLatest() (map[string][]facts.Fact, error) {
	c.gen++
	byHost := map[string][]facts.Fact{}
	err := c.s.EachRecord(facts.KindLatest, "", "", func(k string, v []byte) error {
		lv := c.latest[k]
		if lv == nil || !bytes.Equal(lv.raw, v) {
			lv = &latestValue{raw: bytes.Clone(v)}
			f, err := facts.Decode(bytes.TrimSpace(v), time.Time{})
			lv.f, lv.ok = f, err == nil
			c.latest[k] = lv
		}
		lv.gen = c.gen
		if !lv.ok {
			return nil
		}
		f := lv.f
		if f.Host == "" {
			f.Host = c.local
		}
		byHost[f.Host] = append(byHost[f.Host], f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k, lv := range c.latest {
		if lv.gen != c.gen {
			delete(c.latest, k)
		}
	}
	return byHost, nil
}

// walk brings host h's walk up to date.
func (c *Cache) walk(ctx context.Context, h string, maxInput int) (*walked, error) {
	first, err := c.firstEvent(h)
	if err != nil {
		return nil, err
	}
	wk := c.hosts[h]
	if wk == nil || wk.first != first {
		wk = &walked{first: first, w: NewWalker()}
		c.hosts[h] = wk
	}
	if first == "" {
		return wk, nil
	}
	step := func(e history.Event) error {
		if wk.events%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		wk.w.Step(e)
		wk.lastEvent = e.Time
		wk.events++
		if len(wk.w.Out) > maxInput {
			delete(c.hosts, h)
			return fmt.Errorf("%w: more than %d interruptions in the history of %s; shorten the history's retention", ErrTooLarge, maxInput, h)
		}
		return nil
	}
	if h == c.local {
		var after uint64
		if wk.next != "" {
			fmt.Sscanf(wk.next, "%x", &after)
		}
		err = c.s.Each(history.Query{AfterSeq: after, BySeq: true}, func(e history.Event) error {
			if err := step(e); err != nil {
				return err
			}
			wk.next = fmt.Sprintf("%016x", e.Seq)
			return nil
		})
		return wk, err
	}
	from := h + "\x00"
	if wk.next != "" {
		from = wk.next + "\x00" // the key right after the last walked
	}
	err = c.s.EachRecord(KindHostEvent, from, h+"\x01", func(k string, v []byte) error {
		var e history.Event
		if json.Unmarshal(v, &e) == nil {
			if err := step(e); err != nil {
				return err
			}
		}
		wk.next = k
		return nil
	})
	return wk, err
}

// firstEvent is the key of host h's first event ("" if none): the
// sequence as 16 hex digits for the local host.
func (c *Cache) firstEvent(h string) (string, error) {
	first := ""
	if h == c.local {
		err := c.s.Each(history.Query{BySeq: true, First: 1}, func(e history.Event) error {
			first = fmt.Sprintf("%016x", e.Seq)
			return errStop
		})
		if err != nil && !errors.Is(err, errStop) {
			return "", err
		}
		return first, nil
	}
	err := c.s.EachRecord(KindHostEvent, h+"\x00", h+"\x01", func(k string, _ []byte) error {
		first = k
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return "", err
	}
	return first, nil
}
