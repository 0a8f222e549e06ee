package collect

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Action is the one request a facts capability allows: facts-pull
// CURSOR (JSON) on the target facts.
const Action = "facts-pull"

// Bounds of one page: it travels in one frame (wire.MaxFrame).
const (
	MaxItems = 1000      // events and facts of one page
	MaxBytes = 512 << 10 // their encoded size
	// maxEvent is the encoded size past which an event's message and
	// command are cut, so that any event fits a page.
	maxEvent = 16 << 10
	// maxCursorKey bounds a cursor's fact key.
	maxCursorKey = 1024
)

// Cursor says what a collector has of a host: its events up to Seq and
// its fact samples up to the store key Fact (facts.SampleKey, host
// empty).
type Cursor struct {
	Seq  uint64 `json:"seq"`
	Fact string `json:"fact,omitempty"`
}

// Check refuses a cursor that is no cursor of this protocol.
func (c Cursor) Check() error {
	if c.Fact != "" && (len(c.Fact) > maxCursorKey || !strings.HasPrefix(c.Fact, "\x00")) {
		return errors.New("bad fact cursor")
	}
	return nil
}

// Page is a facts-pull's answer: events with Seq > the cursor's, oldest
// first; fact samples after its fact key, in time order (each the JSON
// line of facts.Encode); the cursor of the next page; More when the
// host has more now; Head, the host's last event sequence as it served
// the page (how far behind the collector is; 0 from a host too old to
// say).
type Page struct {
	Events []history.Event   `json:"events,omitempty"`
	Facts  []json.RawMessage `json:"facts,omitempty"`
	Next   Cursor            `json:"next"`
	More   bool              `json:"more,omitempty"`
	Head   uint64            `json:"head,omitempty"`
}

// pullArg is facts-pull's one argument: the cursor, and the most items
// the page may hold (max, 1 to MaxItems; 0 or absent: MaxItems). A host
// too old to know max ignores it and sends full pages.
type pullArg struct {
	Cursor
	Max int `json:"max,omitempty"`
}

// Request is the facts-pull request of ref's holder after cur.
func Request(ref string, cur Cursor) wire.Request { return RequestPage(ref, cur, 0) }

// RequestPage is the facts-pull request of ref's holder after cur for a
// page of at most limit items (0: MaxItems).
func RequestPage(ref string, cur Cursor, limit int) wire.Request {
	if limit >= MaxItems || limit < 0 {
		limit = 0
	}
	b, _ := json.Marshal(pullArg{Cursor: cur, Max: limit})
	return wire.Request{Action: Action, Service: capability.FactsTarget, Cap: ref, Args: []string{string(b)}}
}

var errFull = errors.New("page full")

// Serve answers facts-pull from the host's store: its own events and
// facts, never those it collected of others. The daemon routes it here
// after the capability check (or for its owner).
func Serve(s *history.Store, req wire.Request) wire.Reply {
	var arg pullArg
	if len(req.Args) != 1 || len(req.Args[0]) > 2*maxCursorKey || json.Unmarshal([]byte(req.Args[0]), &arg) != nil || arg.Check() != nil ||
		arg.Max < 0 || arg.Max > MaxItems {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%s: expected one cursor argument {\"seq\":N,\"fact\":KEY,\"max\":ITEMS}", Action))
	}
	if arg.Max == 0 {
		arg.Max = MaxItems
	}
	p, err := page(s, arg.Cursor, arg.Max)
	if err != nil {
		return wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "%s: %v", Action, err))
	}
	return wire.OKReply(req.ID, p)
}

func page(s *history.Store, cur Cursor, limit int) (*Page, error) {
	p := &Page{Next: cur}
	// The head first: events stored meanwhile are past it, never
	// before the cursor the page ends at.
	err := s.Each(history.Query{BySeq: true, Limit: 1}, func(e history.Event) error {
		p.Head = e.Seq
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the last event: %w", err)
	}
	n, size := 0, 0
	room := func(b int) bool {
		if n >= limit || (n > 0 && size+b > MaxBytes) {
			p.More = true
			return false
		}
		n, size = n+1, size+b
		return true
	}
	err = s.Each(history.Query{AfterSeq: cur.Seq, BySeq: true, First: limit}, func(e history.Event) error {
		b, _ := json.Marshal(e)
		if len(b) > maxEvent {
			e.Message, e.Command = shorten(e.Message, 4096), nil
			b, _ = json.Marshal(e)
		}
		if !room(len(b)) {
			return errFull
		}
		p.Events = append(p.Events, e)
		p.Next.Seq = e.Seq
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return nil, fmt.Errorf("read events: %w", err)
	}
	if n == limit && !p.More {
		p.More = true // maybe more events: the next page tells
	}
	if len(p.Events) > 0 {
		p.Head = max(p.Head, p.Next.Seq) // stored since the head was read
	}
	if p.More {
		return p, nil
	}
	from := "\x00"
	if cur.Fact != "" {
		from = cur.Fact + "\x00" // the key right after the cursor's
	}
	err = s.EachRecord(facts.KindSample, from, "\x01", func(k string, v []byte) error {
		v = bytes.TrimSpace(v)
		if _, err := facts.Decode(v, time.Time{}); err != nil {
			p.Next.Fact = k // an unreadable sample is passed over
			return nil
		}
		if !room(len(v)) {
			return errFull
		}
		p.Facts = append(p.Facts, json.RawMessage(bytes.Clone(v))) // v is the iterator's, valid in the call only
		p.Next.Fact = k
		return nil
	})
	if err != nil && !errors.Is(err, errFull) {
		return nil, fmt.Errorf("read facts: %w", err)
	}
	return p, nil
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
