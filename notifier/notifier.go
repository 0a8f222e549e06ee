package notifier

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/alerting"
	"github.com/shepherd-go/shepherd/services/config"
)

// Record kinds (history.Record) and event kinds (history.Event).
const (
	KindIncident = "incident"      // record: an incident by ID; event: one opened or closed
	KindOutbox   = "notify-outbox" // record: a delivery not yet done, by its key
	KindCursor   = "notify-cursor" // record "cursor": the last event judged
	KindNotify   = "notify"        // event: a delivery delivered, failed or dropped
)

// MaxWorkers bounds the deliveries tried at once.
const MaxWorkers = 4

// Env is what the notifier needs of the daemon.
type Env struct {
	// ConfigPath is the daemon's configuration; its notify: section is
	// read at Start, unless Config is set.
	ConfigPath string
	// Config, when not nil, is the notify: section, read by the caller
	// (daemon/sections); ConfigPath is then not read.
	Config *config.Notify
	Store  *history.Store
	System *actor.ActorSystem
	// Historian is the history writer (the store's only writer);
	// Monitor starts scripts.
	Historian, Monitor *actor.PID
	// Go runs f on an accounted goroutine; Life ends at shutdown.
	Go   func(f func())
	Logf func(format string, args ...any)
	Life context.Context
}

// Notifier runs the notifications of one daemon.
type Notifier struct {
	env     Env
	cfg     *config.Notify
	targets map[string]config.NotifyTarget
	host    string

	mu     sync.Mutex // guards m, cursor, open
	m      *alerting.Machine
	cursor uint64
	saved  uint64          // the cursor last written
	open   map[string]bool // IDs of the open incidents, to tell an opening

	box      *outbox
	retryMin time.Duration
}

// Start reads the notify: section and, if there is one, starts following
// the history and delivering what the outbox holds. Without one it only
// answers that nothing is configured.
func Start(env Env) (*Notifier, error) {
	n := &Notifier{env: env, targets: map[string]config.NotifyTarget{}, open: map[string]bool{}, retryMin: time.Second}
	n.host, _ = os.Hostname()
	if env.Config != nil {
		n.cfg = env.Config
	} else if env.ConfigPath != "" {
		cfg, err := config.LoadNotify(env.ConfigPath)
		if err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
		n.cfg = cfg
	}
	if n.cfg == nil {
		return n, nil
	}
	for _, t := range n.cfg.Targets {
		n.targets[t.Name] = t
	}
	n.retryMin = min(n.retryMin, n.cfg.RetryMax)
	n.m = alerting.New(n.cfg.Policy)
	n.box = newOutbox(n.cfg.OutboxSize)
	if err := n.restore(); err != nil {
		return nil, err
	}
	env.Go(n.follow)
	env.Go(n.dispatch)
	return n, nil
}

// restore reads the incidents, the outbox and the cursor of a previous
// run.
func (n *Notifier) restore() error {
	st := n.env.Store
	raw, err := st.RecordsByKey(KindIncident)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	var incs []alerting.Incident
	var recs []history.Record
	for k, b := range raw {
		var inc alerting.Incident
		if len(b) > 64<<10 || json.Unmarshal(b, &inc) != nil || inc.ID != k {
			recs = append(recs, history.Record{Kind: KindIncident, Key: k}) // not ours to believe
			continue
		}
		incs = append(incs, inc)
		if inc.Closed.IsZero() {
			n.open[inc.ID] = true
		}
	}
	for _, e := range n.m.Restore(incs) {
		if f, ok := e.(alerting.Forget); ok {
			recs = append(recs, history.Record{Kind: KindIncident, Key: f.ID})
		}
	}
	raw, err = st.RecordsByKey(KindOutbox)
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	for k, b := range raw {
		var d Delivery
		if len(b) > 64<<10 || json.Unmarshal(b, &d) != nil || d.Alert.Key != k {
			recs = append(recs, history.Record{Kind: KindOutbox, Key: k})
			continue
		}
		if _, ok := n.targets[d.Alert.Target]; !ok || d.Alert.Status == alerting.Test {
			n.env.Logf("notify: dropped the delivery %s kept from before: no target %q now", k, d.Alert.Target)
			recs = append(recs, history.Record{Kind: KindOutbox, Key: k})
			continue
		}
		n.box.put(&d)
	}
	if len(raw) > 0 {
		n.env.Logf("notify: %d deliveries kept from before will be tried again", n.box.len())
	}
	b, err := st.Record(KindCursor, "cursor")
	if err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if b == nil || json.Unmarshal(b, &n.cursor) != nil {
		// A first start: alert from now on, not on the history before.
		n.cursor = st.LastSeq()
	}
	n.saved = n.cursor
	if len(recs) > 0 {
		n.write(nil, recs)
	}
	return nil
}

// follow judges every committed event, in order, from the cursor on.
func (n *Notifier) follow() {
	life := n.env.Life
	var ch chan []history.Event
	subscribe := func() {
		ch = make(chan []history.Event, 1024)
		n.env.System.Root.Send(n.env.Historian, &historian.Subscribe{Ch: ch})
		// Whatever the store has after the cursor, before the stream.
		var batch []history.Event
		n.env.Store.Each(history.Query{AfterSeq: n.cursor}, func(e history.Event) error {
			batch = append(batch, e)
			if len(batch) == 1000 {
				n.judge(batch)
				batch = batch[:0]
			}
			return nil
		})
		n.judge(batch)
	}
	subscribe()
	defer func() { n.env.System.Root.Send(n.env.Historian, &historian.Unsubscribe{Ch: ch}) }()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		n.mu.Lock()
		at, ok := n.m.NextWake()
		n.mu.Unlock()
		timer.Stop()
		var wake <-chan time.Time
		if ok {
			timer.Reset(time.Until(at))
			wake = timer.C
		}
		select {
		case <-life.Done():
			return
		case batch, ok := <-ch:
			if !ok { // fell behind: read the store from the cursor again
				subscribe()
				continue
			}
			n.judge(batch)
		case <-wake:
			n.mu.Lock()
			effs := n.m.Tick(time.Now())
			n.mu.Unlock()
			n.apply(effs, false)
		}
	}
}

// judge steps the machine with the events after the cursor and carries
// out what it says.
func (n *Notifier) judge(evs []history.Event) {
	n.mu.Lock()
	var effs []alerting.Effect
	moved, now := false, time.Now()
	for _, e := range evs {
		if e.Seq <= n.cursor {
			continue
		}
		n.cursor, moved = e.Seq, true
		if e.Kind == KindIncident || e.Kind == KindNotify || now.Sub(e.Time) > n.cfg.MaxAge {
			continue // ours, or too old to tell anyone (a notify: section added again)
		}
		if o, ok := alerting.Classify(eventOf(e)); ok {
			effs = append(effs, n.m.Step(e.Time, o)...)
		}
	}
	n.mu.Unlock()
	switch {
	case moved && len(effs) > 0:
		n.apply(effs, true)
	case moved && n.cursor-n.saved >= cursorEvery:
		// Nothing to say for a while: keep the cursor now and then, so
		// that a start does not judge a long stretch again.
		b, _ := json.Marshal(n.cursor)
		n.saved = n.cursor
		n.env.System.Root.Send(n.env.Historian, &historian.Record{Records: []history.Record{{Kind: KindCursor, Key: "cursor", Value: b}}})
	}
}

// cursorEvery: the cursor is kept at least every so many events.
const cursorEvery = 5000

// eventOf is what alerting reads of an event (a tracked job's: Job
// and Outcome, actors/jobbook).
func eventOf(e history.Event) alerting.Event {
	return alerting.Event{Seq: e.Seq, Time: e.Time, Service: e.Service, Kind: e.Kind, State: e.State,
		ExitCode: e.ExitCode, Signal: e.Signal, Result: e.Result, Message: e.Message, Job: e.Job, Outcome: e.Outcome, Command: e.Command, Action: e.Action}
}

// apply stores what the effects say, synced, in one batch with the
// cursor, then hands the deliveries to the dispatcher.
func (n *Notifier) apply(effs []alerting.Effect, withCursor bool) {
	if len(effs) == 0 {
		return
	}
	var evs []history.Event
	var recs []history.Record
	var ds []*Delivery
	now := time.Now()
	n.mu.Lock()
	for _, e := range effs {
		switch e := e.(type) {
		case alerting.Keep:
			inc := e.Incident
			b, _ := json.Marshal(inc)
			recs = append(recs, history.Record{Kind: KindIncident, Key: inc.ID, Value: b})
			switch {
			case !inc.Closed.IsZero() && inc.Class.Point():
				delete(n.open, inc.ID)
				evs = append(evs, incidentEvent(inc, "close", fmt.Sprintf("incident %s closed: %s: a change is reported once", inc.ID, inc.Subject)))
			case !inc.Closed.IsZero():
				delete(n.open, inc.ID)
				evs = append(evs, incidentEvent(inc, "close", fmt.Sprintf("incident %s closed: %s recovered after %d failures", inc.ID, inc.Subject, inc.Failures)))
			case !n.open[inc.ID]:
				n.open[inc.ID] = true
				evs = append(evs, incidentEvent(inc, "open", fmt.Sprintf("incident %s opened: %s: %s: %s", inc.ID, inc.Subject, inc.Class, inc.Message)))
			}
		case alerting.Forget:
			recs = append(recs, history.Record{Kind: KindIncident, Key: e.ID})
		case alerting.Notify:
			a := e.Alert
			a.Host = n.host
			if n.box.len()+len(ds) >= n.cfg.OutboxSize {
				n.env.Logf("notify: the outbox is full (%d deliveries wait): the %s alert of %s to %s is dropped", n.cfg.OutboxSize, a.Status, a.Subject, a.Target)
				evs = append(evs, history.Event{Kind: KindNotify, Action: a.Target, Result: "dropped: the outbox is full", Message: a.Key})
				continue
			}
			d := &Delivery{Alert: a, Created: now}
			b, _ := json.Marshal(d)
			recs = append(recs, history.Record{Kind: KindOutbox, Key: a.Key, Value: b})
			ds = append(ds, d)
		}
	}
	if withCursor {
		n.saved = n.cursor
		b, _ := json.Marshal(n.cursor)
		recs = append(recs, history.Record{Kind: KindCursor, Key: "cursor", Value: b})
	}
	n.mu.Unlock()
	if n.write(evs, recs) {
		for _, d := range ds {
			n.box.put(d)
		}
		n.box.wake()
	}
}

func incidentEvent(inc alerting.Incident, action, msg string) history.Event {
	e := history.Event{Kind: KindIncident, Action: action, Result: string(inc.Class), Message: msg}
	if kind, name, _ := strings.Cut(inc.Subject, " "); kind == "service" {
		e.Service = name
	}
	return e
}

// write stores events and records through the history writer, synced,
// and reports whether they are durable (false at shutdown).
func (n *Notifier) write(evs []history.Event, recs []history.Record) bool {
	done := make(chan struct{})
	n.env.System.Root.Send(n.env.Historian, &historian.Record{Events: evs, Records: recs, Sync: true, Done: done})
	select {
	case <-done:
		return true
	case <-n.env.Life.Done():
		return false
	}
}

// Serve answers `incidents` and `notify-test TARGET`.
func (n *Notifier) Serve(req wire.Request) wire.Reply {
	switch req.Action {
	case "incidents":
		out := alerting.Listing{Open: []alerting.Incident{}, Recent: []alerting.Incident{}}
		if n.cfg != nil {
			n.mu.Lock()
			out.Open, out.Recent, out.Configured = n.m.Open(), n.m.Recent(), true
			n.mu.Unlock()
			slices.Reverse(out.Recent) // newest first
		}
		return wire.OKReply(req.ID, out)
	case "notify-test":
		if len(req.Args) != 1 {
			return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "notify test: name one target"))
		}
		return n.test(req)
	}
	return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "unknown request %q", req.Action))
}

func (n *Notifier) test(req wire.Request) wire.Reply {
	name := req.Args[0]
	t, ok := n.targets[name]
	if !ok {
		var names []string
		for k := range n.targets {
			names = append(names, k)
		}
		sort.Strings(names)
		msg := "the configuration has no notify: section"
		if len(names) > 0 {
			msg = "targets: " + strings.Join(names, ", ")
		}
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "notify test: no target %q (%s)", name, msg))
	}
	a := alerting.TestAlert(name, time.Now())
	a.Host = n.host
	d := &Delivery{Alert: a, Created: time.Now(), once: true, result: make(chan error, 1)}
	b, _ := json.Marshal(d)
	if !n.write(nil, []history.Record{{Kind: KindOutbox, Key: a.Key, Value: b}}) {
		return wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "the daemon is stopping"))
	}
	n.box.put(d)
	n.box.wake()
	select {
	case err := <-d.result:
		if err != nil {
			return wire.ErrReply(req.ID, wire.Errorf(wire.Unreachable, "test notification to %s (%s) failed: %v", name, t.Type, err))
		}
		return wire.OKReply(req.ID, alerting.TestResult{Target: name, Key: a.Key})
	case <-time.After(t.Timeout + 5*time.Second):
		return wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "test notification to %s: no answer in %v", name, t.Timeout))
	case <-n.env.Life.Done():
		return wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "the daemon is stopping"))
	}
}
