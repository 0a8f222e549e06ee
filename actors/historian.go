package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// record asks the history writer to store events. When they are durable
// (synced, if Sync), AckMsg is sent to AckTo and Done, if set, is closed.
type record struct {
	Events []history.Event
	Sync   bool
	AckTo  *actor.PID
	AckMsg any
	Done   chan struct{}
}

// seqAck is an AckMsg that learns the sequence number of the record's
// last event.
type seqAck interface{ setSeq(uint64) }

// committed reports that a batch reached the store (or, with err, that
// nothing of it did).
type committed struct {
	events []history.Event
	acks   []record
	err    error
	gen    uint64
}

// subscribeEvents adds Ch to the receivers of every committed event; a
// receiver that falls behind by more than its buffer is dropped (its
// channel closed). unsubscribeEvents removes it.
type subscribeEvents struct{ Ch chan []history.Event }
type unsubscribeEvents struct{ Ch chan []history.Event }

// retain deletes the events older than the retention.
type retain struct{}

// historyHealth asks whether the history can be written now.
type historyHealth struct{ Reply chan<- wire.HistoryHealth }

// historyRetry is the timer of a degraded history: try the held events
// again.
type historyRetry struct{}

// commitStalled is the watchdog of the commit numbered gen, which was
// given after to complete.
type commitStalled struct {
	gen   uint64
	after time.Duration
}

// A store that cannot be written (its filesystem full, or pebble failed)
// puts the history in degraded mode rather than stopping the daemon:
//
//   - events are held in memory, in order, up to maxHeldEvents; beyond
//     that they are dropped and counted (their sequence numbers stay
//     unused);
//   - a reply that waits for its events to be durable goes at once: while
//     degraded nothing is durable, and supervision must not wait for the
//     disk (herd status shepherd says the history is degraded);
//   - the held events are tried again after retryMin, doubling up to
//     retryMax; when a write succeeds they are all in the store, followed
//     by a history event saying how long it lasted and what was dropped;
//   - a commit that has not returned after commitStallTimeout, plus
//     commitStallPerEvent for each of its events (pebble waiting on a
//     disk that does not answer), degrades the history the same way,
//     releasing the replies that waited for it. The allowance per event
//     is for a busy machine: there, with the race detector, commits of
//     5,000-25,000 events took 6-17 s, and the history degraded and
//     dropped events while the disk was fine.
const (
	maxHeldEvents = 10000
	retryMin      = 250 * time.Millisecond
	retryMax      = 5 * time.Second
)

// commitStallTimeout is a variable for tests.
var commitStallTimeout = 5 * time.Second

const commitStallPerEvent = time.Millisecond

// historianState outlives a restart of the writer.
type historianState struct {
	d         *Daemon
	store     *history.Store
	next      uint64 // next sequence number
	pending   []history.Event
	acks      []record
	sync      bool
	inflight  bool
	followers map[chan []history.Event]bool
	retention time.Duration
	retaining bool

	gen      uint64   // of the commit in flight
	released bool     // its acks went already (the watchdog fired)
	writing  []record // the acks of the commit in flight
	// degraded: since when the store cannot be written, and why; zero
	// when it can.
	degradedSince time.Time
	degradedWhy   string
	dropped       int
	backoff       time.Duration
	retryArmed    bool
}

// historian is the history writer: the only writer of the store. It
// commits in groups: whatever arrives while a commit is in flight shares
// the next one, so 1000 services starting at once cost a few syncs.
type historian struct{ st *historianState }

func newHistorianProps(d *Daemon, store *history.Store, retention time.Duration) *actor.Props {
	st := &historianState{d: d, store: store, next: store.LastSeq() + 1, followers: map[chan []history.Event]bool{}, retention: retention}
	return actor.PropsFromProducer(func() actor.Actor { return &historian{st: st} })
}

func (st *historianState) degraded() bool { return !st.degradedSince.IsZero() }

func (h *historian) Receive(ctx actor.Context) {
	st := h.st
	switch msg := ctx.Message().(type) {
	case *record:
		now := time.Now()
		for i := range msg.Events {
			msg.Events[i] = history.Bounded(msg.Events[i])
			msg.Events[i].Seq = st.next
			st.next++
			if msg.Events[i].Time.IsZero() {
				msg.Events[i].Time = now
			}
		}
		if ack, ok := msg.AckMsg.(seqAck); ok && len(msg.Events) > 0 {
			ack.setSeq(msg.Events[len(msg.Events)-1].Seq)
		}
		st.hold(msg.Events)
		st.sync = st.sync || msg.Sync
		switch {
		case msg.AckTo == nil && msg.Done == nil:
		case st.degraded():
			h.ack(ctx, []record{*msg})
		default:
			st.acks = append(st.acks, *msg)
		}
		h.commit(ctx)
	case *committed:
		if msg.gen != st.gen {
			return
		}
		st.inflight = false
		if !st.released {
			h.ack(ctx, msg.acks)
		}
		if msg.err != nil {
			// Nothing was written: the events go back first in line.
			st.pending = append(msg.events, st.pending...)
			st.sync = true
			st.trim()
			h.degrade(ctx, msg.err.Error())
			return
		}
		fanOut(st.followers, msg.events)
		if st.degraded() {
			h.recover(ctx)
		}
		h.commit(ctx)
	case *commitStalled:
		if !st.inflight || msg.gen != st.gen || st.released {
			return
		}
		st.released = true
		h.ack(ctx, st.writing)
		h.degrade(ctx, fmt.Sprintf("history store %s: a write has not completed in %v", st.store.Path(), msg.after))
	case *historyRetry:
		st.retryArmed = false
		if st.degraded() && !st.inflight {
			if len(st.pending) == 0 {
				// Only a stall degraded it, and that write came back:
				// probe with nothing to write.
				if err := st.store.Writable(0); err != nil {
					h.degrade(ctx, err.Error())
					return
				}
				h.recover(ctx)
				return
			}
			h.start(ctx)
		}
	case *historyHealth:
		msg.Reply <- wire.HistoryHealth{
			Degraded: st.degraded(), Since: st.degradedSince, Reason: st.degradedWhy,
			Held: len(st.pending), Dropped: st.dropped,
		}
	case *subscribeEvents:
		st.followers[msg.Ch] = true
	case *unsubscribeEvents:
		unfollow(st.followers, msg.Ch)
	case *retain:
		if st.retaining || st.retention <= 0 || st.degraded() {
			return
		}
		st.retaining = true
		cutoff := time.Now().Add(-st.retention)
		self, send := ctx.Self(), ctx.ActorSystem().Root.Send
		st.d.goGo(func() {
			n, err := st.store.DeleteBefore(cutoff)
			switch {
			case err != nil:
				st.d.logf("history: retention: %v", err)
			case n > 0:
				st.d.logf("history: removed %d events older than %s", n, cutoff.Format(logTimeLayout))
			}
			send(self, &retained{})
		})
	case *retained:
		st.retaining = false
	case *actor.Stopping:
		if n := len(st.pending); n > 0 && st.degraded() {
			st.d.logf("history: %d events held in memory could not be written and are lost (%d were dropped before)", n, st.dropped)
		}
	}
}

type retained struct{}

// hold queues events for the store; while degraded, past maxHeldEvents
// they are dropped and counted.
func (st *historianState) hold(evs []history.Event) {
	st.pending = append(st.pending, evs...)
	if st.degraded() {
		st.trim()
	}
}

// trim drops the newest events beyond maxHeldEvents: the oldest say how
// the trouble began.
func (st *historianState) trim() {
	if n := len(st.pending) - maxHeldEvents; n > 0 {
		clear(st.pending[maxHeldEvents:])
		st.pending = st.pending[:maxHeldEvents]
		st.dropped += n
	}
}

// ack sends the acknowledgements of records: their events are durable,
// or the history is degraded and they will not wait for it.
func (h *historian) ack(ctx actor.Context, recs []record) {
	for _, a := range recs {
		if a.AckTo != nil {
			ctx.Send(a.AckTo, a.AckMsg)
		}
		if a.Done != nil {
			close(a.Done)
		}
	}
}

// degrade enters (or stays in) degraded mode and arms the next retry.
func (h *historian) degrade(ctx actor.Context, why string) {
	st := h.st
	if !st.degraded() {
		st.degradedSince = time.Now()
		st.backoff = retryMin
		st.d.logf("history: cannot write: %s; holding events in memory (at most %d) and trying again; replies no longer wait for the history", why, maxHeldEvents)
		// What waited for a commit goes now: nothing will be durable soon.
		h.ack(ctx, st.acks)
		st.acks = nil
	} else {
		st.backoff = min(st.backoff*2, retryMax)
		if why != st.degradedWhy {
			st.d.logf("history: still cannot write: %s", why)
		}
	}
	st.degradedWhy = why
	if !st.retryArmed && !st.inflight {
		st.retryArmed = true
		self, send := ctx.Self(), ctx.ActorSystem().Root.Send
		time.AfterFunc(st.backoff, func() { send(self, &historyRetry{}) })
	}
}

// recover leaves degraded mode: what was held is written (the commit just
// made, or the next), and the history itself says what happened.
func (h *historian) recover(ctx actor.Context) {
	st := h.st
	d := time.Since(st.degradedSince).Round(time.Millisecond)
	msg := fmt.Sprintf("the history could not be written for %v (%s); %d events were dropped", d, st.degradedWhy, st.dropped)
	st.d.logf("history: writable again after %v; the events held are written, %d were dropped", d, st.dropped)
	st.degradedSince, st.degradedWhy, st.dropped = time.Time{}, "", 0
	now := time.Now()
	st.pending = append(st.pending, history.Event{Seq: st.next, Time: now, Kind: history.KindHistory, Message: msg})
	st.next++
	h.commit(ctx)
}

// commit starts writing what is pending, unless a commit is in flight or
// the history is degraded (then its retry timer does).
func (h *historian) commit(ctx actor.Context) {
	st := h.st
	if st.inflight || len(st.pending) == 0 || st.degraded() {
		return
	}
	h.start(ctx)
}

func (h *historian) start(ctx actor.Context) {
	st := h.st
	evs, acks, sync := st.pending, st.acks, st.sync
	st.pending, st.acks, st.sync = nil, nil, false
	st.inflight = true
	st.gen++
	st.released = false
	st.writing = acks
	gen := st.gen
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	after := commitStallTimeout + time.Duration(len(evs))*commitStallPerEvent
	watchdog := time.AfterFunc(after, func() { send(self, &commitStalled{gen: gen, after: after}) })
	st.d.goGo(func() {
		err := st.store.Append(evs, sync)
		watchdog.Stop()
		send(self, &committed{events: evs, acks: acks, err: err, gen: gen})
	})
}
