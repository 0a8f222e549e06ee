package historian

import (
	"errors"
	"fmt"
	"time"

	"github.com/shepherd-go/shepherd/internal/follow"

	"github.com/shepherd-go/shepherd/internal/proc"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Record asks the history writer to store events. When they are durable
// (synced, if Sync), AckMsg is sent to AckTo and Done, if set, is closed.
// Records, if any, go into the same batch as the events (a controller's
// record of its process, beside the event of its start), at no cost of a
// sync of their own; unlike a PutRecord's, their outcome is not told: one
// the store refuses while degraded is dropped.
type Record struct {
	Events  []history.Event
	Records []history.Record
	Sync    bool
	AckTo   *actor.PID
	AckMsg  any
	Done    chan struct{}
}

// SeqAck is an AckMsg that learns the sequence number of the Record's
// last event.
type SeqAck interface{ SetSeq(uint64) }

// PutRecord asks the history writer to keep a record (a capability grant,
// an imported capability, a fleet run) in its next batch, which it syncs:
// the writer is the store's only writer, and records share its group
// commit with the events. The outcome is told once: nil when the record
// is durable, else why it is not in the store (the commit failed; or the
// history is degraded, an error wrapping ErrDegraded: a record is not
// held in memory as events are, since its owner must know). It goes to
// Reply if set (buffered: the writer does not wait), and to AckTo as
// AckMsg if both are set, which learns it first (SetRecordErr).
//
// A commit that stalls releases the replies waiting for its events, not
// for its records: a record's outcome is the store's, however late, lest
// a grant said to have failed be found in the store at the next start.
type PutRecord struct {
	Record history.Record
	Reply  chan<- error
	AckTo  *actor.PID
	AckMsg RecordAck
}

// RecordAck is the AckMsg of a PutRecord.
type RecordAck interface{ SetRecordErr(error) }

// ErrDegraded is wrapped by the outcome of a record refused while the
// history cannot be written.
var ErrDegraded = errors.New("the history store cannot be written now")

// ErrStopped is the outcome of a record still waiting when the writer
// stopped.
var ErrStopped = errors.New("the history writer stopped before the record was written")

// committed reports that a batch reached the store (or, with err, that
// nothing of it did).
type committed struct {
	events  []history.Event
	acks    []Record
	records []PutRecord
	err     error
	gen     uint64
}

// Subscribe adds Ch to the receivers of every committed event; a
// receiver that falls behind by more than its buffer is dropped (its
// channel closed). Unsubscribe removes it.
type Subscribe struct{ Ch chan []history.Event }
type Unsubscribe struct{ Ch chan []history.Event }

// Retain deletes the events older than the retention.
type Retain struct{}

// Health asks whether the history can be written now.
type Health struct{ Reply chan<- wire.HistoryHealth }

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
//     dropped events while the disk was fine; with five test runs on two
//     cores, 5,000 events took over 10 s (1 ms per event was too little).
const (
	maxHeldEvents = 10000
	retryMin      = 250 * time.Millisecond
	retryMax      = 5 * time.Second
)

// commitStallTimeout is a variable for tests.
var commitStallTimeout = 5 * time.Second

const commitStallPerEvent = 5 * time.Millisecond

// Env is what the history writer needs of the daemon.
type Env struct {
	// Go runs f on an accounted goroutine (the daemon waits for them).
	Go func(f func())
	// Logf writes a line to the daemon log.
	Logf func(format string, args ...any)
}

// historianState outlives a restart of the writer.
type historianState struct {
	env       Env
	store     *history.Store
	next      uint64 // next sequence number
	pending   []history.Event
	acks      []Record
	records   []PutRecord // for the next commit
	sync      bool
	inflight  bool
	followers follow.Set[[]history.Event]
	retention time.Duration
	retaining bool

	gen      uint64   // of the commit in flight
	released bool     // its acks went already (the watchdog fired)
	writing  []Record // the acks of the commit in flight
	// degraded: since when the store cannot be written, and why; zero
	// when it can.
	degradedSince time.Time
	degradedWhy   string
	dropped       int
	backoff       time.Duration
	retryArmed    bool
	// tally is what the writer counts of its work (Stats).
	tally writerTally
}

// historian is the history writer: the only writer of the store. It
// commits in groups: whatever arrives while a commit is in flight shares
// the next one, so 1000 services starting at once cost a few syncs.
type historian struct{ st *historianState }

// NewProps makes the history writer of store, which deletes events
// older than retention when asked (Retain).
func NewProps(env Env, store *history.Store, retention time.Duration) *actor.Props {
	st := &historianState{env: env, store: store, next: store.LastSeq() + 1, followers: follow.Set[[]history.Event]{}, retention: retention, tally: newWriterTally()}
	return actor.PropsFromProducer(func() actor.Actor { return &historian{st: st} })
}

func (st *historianState) degraded() bool { return !st.degradedSince.IsZero() }

func (h *historian) Receive(ctx actor.Context) {
	st := h.st
	switch msg := ctx.Message().(type) {
	case *Record:
		now := time.Now()
		for i := range msg.Events {
			msg.Events[i] = history.Bounded(msg.Events[i])
			msg.Events[i].Seq = st.next
			st.next++
			if msg.Events[i].Time.IsZero() {
				msg.Events[i].Time = now
			}
		}
		if ack, ok := msg.AckMsg.(SeqAck); ok && len(msg.Events) > 0 {
			ack.SetSeq(msg.Events[len(msg.Events)-1].Seq)
		}
		st.hold(msg.Events)
		if len(msg.Events)+len(msg.Records) > 0 {
			st.tally.held(now)
		}
		st.sync = st.sync || msg.Sync
		if !st.degraded() {
			for _, r := range msg.Records {
				st.records = append(st.records, PutRecord{Record: r})
			}
		}
		switch {
		case msg.AckTo == nil && msg.Done == nil:
		case st.degraded():
			h.ack(ctx, []Record{*msg})
		default:
			st.acks = append(st.acks, *msg)
		}
		h.commit(ctx)
	case *PutRecord:
		if st.degraded() {
			h.ackRecords(ctx, []PutRecord{*msg}, fmt.Errorf("%w: %s", ErrDegraded, st.degradedWhy))
			return
		}
		st.records = append(st.records, *msg)
		st.tally.held(time.Now())
		st.sync = true
		h.commit(ctx)
	case *committed:
		// Records learn their outcome from the store, even after a
		// stall released the event acks.
		h.ackRecords(ctx, msg.records, msg.err)
		if msg.gen != st.gen {
			return
		}
		st.inflight = false
		st.tally.ended(msg.err == nil, time.Now())
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
		st.followers.Send(msg.events)
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
	case *Health:
		msg.Reply <- wire.HistoryHealth{
			Degraded: st.degraded(), Since: st.degradedSince, Reason: st.degradedWhy,
			Held: len(st.pending), Dropped: st.dropped,
		}
	case *Stats:
		msg.Reply <- st.stats(time.Now())
	case *Subscribe:
		st.followers[msg.Ch] = true
	case *Unsubscribe:
		st.followers.Remove(msg.Ch)
	case *Retain:
		if st.retaining || st.retention <= 0 || st.degraded() {
			return
		}
		st.retaining = true
		cutoff := time.Now().Add(-st.retention)
		self, send := ctx.Self(), ctx.ActorSystem().Root.Send
		st.env.Go(func() {
			n, err := st.store.DeleteBefore(cutoff)
			switch {
			case err != nil:
				st.env.Logf("history: retention: %v", err)
			case n > 0:
				st.env.Logf("history: removed %d events older than %s", n, cutoff.Format(proc.TimeLayout))
			}
			send(self, &retained{})
		})
	case *retained:
		st.retaining = false
	case *actor.Stopping:
		h.ackRecords(ctx, st.records, ErrStopped)
		st.records = nil
		if n := len(st.pending); n > 0 && st.degraded() {
			st.env.Logf("history: %d events held in memory could not be written and are lost (%d were dropped before)", n, st.dropped)
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
func (h *historian) ack(ctx actor.Context, recs []Record) {
	for _, a := range recs {
		if a.AckTo != nil {
			ctx.Send(a.AckTo, a.AckMsg)
		}
		if a.Done != nil {
			close(a.Done)
		}
	}
}

// ackRecords tells records their outcome: err, or nil once durable.
func (h *historian) ackRecords(ctx actor.Context, recs []PutRecord, err error) {
	for _, r := range recs {
		if r.Reply != nil {
			r.Reply <- err
		}
		if r.AckTo != nil && r.AckMsg != nil {
			r.AckMsg.SetRecordErr(err)
			ctx.Send(r.AckTo, r.AckMsg)
		}
	}
}

// degrade enters (or stays in) degraded mode and arms the next retry.
func (h *historian) degrade(ctx actor.Context, why string) {
	st := h.st
	// Records waiting for the next commit are not held: their owners
	// learn that they are not stored.
	h.ackRecords(ctx, st.records, fmt.Errorf("%w: %s", ErrDegraded, why))
	st.records = nil
	if !st.degraded() {
		st.degradedSince = time.Now()
		st.backoff = retryMin
		st.env.Logf("history: cannot write: %s; holding events in memory (at most %d) and trying again; replies no longer wait for the history", why, maxHeldEvents)
		// What waited for a commit goes now: nothing will be durable soon.
		h.ack(ctx, st.acks)
		st.acks = nil
	} else {
		st.backoff = min(st.backoff*2, retryMax)
		if why != st.degradedWhy {
			st.env.Logf("history: still cannot write: %s", why)
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
	st.env.Logf("history: writable again after %v; the events held are written, %d were dropped", d, st.dropped)
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
	if st.inflight || len(st.pending)+len(st.records) == 0 || st.degraded() {
		return
	}
	h.start(ctx)
}

func (h *historian) start(ctx actor.Context) {
	st := h.st
	evs, acks, sync, records := st.pending, st.acks, st.sync, st.records
	st.pending, st.acks, st.sync, st.records = nil, nil, false, nil
	st.inflight = true
	st.tally.begin(len(evs)+len(records), time.Now())
	st.gen++
	st.released = false
	st.writing = acks
	gen := st.gen
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	after := commitStallTimeout + time.Duration(len(evs)+len(records))*commitStallPerEvent
	watchdog := time.AfterFunc(after, func() { send(self, &commitStalled{gen: gen, after: after}) })
	var recs []history.Record
	for _, r := range records {
		recs = append(recs, r.Record)
	}
	st.env.Go(func() {
		err := st.store.Write(evs, recs, sync)
		watchdog.Stop()
		send(self, &committed{events: evs, acks: acks, records: records, err: err, gen: gen})
	})
}
