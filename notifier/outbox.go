package notifier

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/services/alerting"
)

// Delivery is one alert to one target, kept in the store (KindOutbox)
// until it is delivered or given up.
type Delivery struct {
	Alert    alerting.Alert `json:"alert"`
	Created  time.Time      `json:"created"`
	Attempts int            `json:"attempts"`

	next   time.Time // not before
	busy   bool      // a try is under way
	once   bool      // a test: one try, then gone
	result chan error
}

// outbox holds the deliveries to try, shared by the judge (which adds)
// and the dispatcher (which tries and removes).
type outbox struct {
	mu    sync.Mutex
	items map[string]*Delivery
	busy  int
	kick  chan struct{}
}

func newOutbox(size int) *outbox {
	return &outbox{items: make(map[string]*Delivery, min(size, 64)), kick: make(chan struct{}, 1)}
}

func (b *outbox) put(d *Delivery) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.items[d.Alert.Key]; !ok {
		b.items[d.Alert.Key] = d
	}
}

func (b *outbox) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

func (b *outbox) wake() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// due takes the deliveries to try now (at most the free workers), and
// says when the next one not taken is due.
func (b *outbox) due(now time.Time) ([]*Delivery, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*Delivery
	var next time.Time
	for _, d := range b.items {
		if d.busy {
			continue
		}
		if !d.next.After(now) && b.busy < MaxWorkers {
			d.busy = true
			b.busy++
			out = append(out, d)
			continue
		}
		at := d.next
		if at.Before(now) {
			at = now.Add(100 * time.Millisecond) // waits for a worker
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return out, next
}

// dispatch tries the deliveries as they fall due.
func (n *Notifier) dispatch() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		ds, next := n.box.due(time.Now())
		for _, d := range ds {
			n.env.Go(func() { n.finish(d, n.try(d)) })
		}
		timer.Stop()
		var wake <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			wake = timer.C
		}
		select {
		case <-n.env.Life.Done():
			return
		case <-n.box.kick:
		case <-wake:
		}
	}
}

// try makes one attempt, within the target's timeout.
func (n *Notifier) try(d *Delivery) error {
	t, ok := n.targets[d.Alert.Target]
	if !ok {
		return fmt.Errorf("no target %q", d.Alert.Target)
	}
	ctx, cancel := context.WithTimeout(n.env.Life, t.Timeout)
	defer cancel()
	return n.send(ctx, t, d.Alert)
}

// finish takes the outcome of a try: a delivered (or given up) delivery
// leaves the store; a failed one waits, doubling, up to retry-max.
func (n *Notifier) finish(d *Delivery, err error) {
	a := d.Alert
	now := time.Now()
	b := n.box
	b.mu.Lock()
	d.busy = false
	b.busy--
	d.Attempts++
	gone := err == nil || d.once || now.Sub(d.Created) > n.cfg.MaxAge
	if gone {
		delete(b.items, a.Key)
	} else {
		wait := n.retryMin << min(d.Attempts-1, 20)
		d.next = now.Add(min(wait, n.cfg.RetryMax))
	}
	attempts := d.Attempts
	b.mu.Unlock()
	var ev *history.Event
	switch {
	case err == nil:
		ev = &history.Event{Kind: KindNotify, Action: a.Target, Result: "delivered", Message: fmt.Sprintf("%s alert of %s (%s), key %s, try %d", a.Status, a.Subject, a.Incident, a.Key, attempts)}
	case gone && !d.once:
		n.env.Logf("notify: gave up the %s alert of %s to %s after %d tries over %v: %v", a.Status, a.Subject, a.Target, attempts, n.cfg.MaxAge, err)
		ev = &history.Event{Kind: KindNotify, Action: a.Target, Result: "given up: " + err.Error(), Message: a.Key}
	case gone:
		ev = &history.Event{Kind: KindNotify, Action: a.Target, Result: "test failed: " + err.Error(), Message: a.Key}
	default:
		n.env.Logf("notify: the %s alert of %s to %s failed (try %d): %v; trying again in %v", a.Status, a.Subject, a.Target, attempts, err, d.next.Sub(now).Round(time.Millisecond))
		if attempts == 1 {
			ev = &history.Event{Kind: KindNotify, Action: a.Target, Result: "failed, will retry: " + err.Error(), Message: a.Key}
		}
	}
	var recs []history.Record
	if gone {
		recs = []history.Record{{Kind: KindOutbox, Key: a.Key}} // nil value: deleted
	}
	var evs []history.Event
	if ev != nil {
		evs = []history.Event{*ev}
	}
	if len(evs)+len(recs) > 0 {
		n.env.System.Root.Send(n.env.Historian, &historian.Record{Events: evs, Records: recs})
	}
	if d.result != nil {
		d.result <- err
	}
	b.wake()
}

// payload is the JSON of an alert as every target gets it.
func payload(a alerting.Alert) []byte {
	b, _ := json.Marshal(a)
	return b
}
