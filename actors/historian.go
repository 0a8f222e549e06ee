package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
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

// committed reports that a batch reached the store.
type committed struct {
	events []history.Event
	acks   []record
	err    error
}

// subscribeEvents adds Ch to the receivers of every committed event; a
// receiver that falls behind by more than its buffer is dropped (its
// channel closed). unsubscribeEvents removes it.
type subscribeEvents struct{ Ch chan []history.Event }
type unsubscribeEvents struct{ Ch chan []history.Event }

// retain deletes the events older than the retention.
type retain struct{}

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
}

// historian is the history writer: the only writer of the store. It
// commits in groups: whatever arrives while a commit is in flight shares
// the next one, so 1000 services starting at once cost a few syncs.
type historian struct{ st *historianState }

func newHistorianProps(d *Daemon, store *history.Store, retention time.Duration) *actor.Props {
	st := &historianState{d: d, store: store, next: store.LastSeq() + 1, followers: map[chan []history.Event]bool{}, retention: retention}
	return actor.PropsFromProducer(func() actor.Actor { return &historian{st: st} })
}

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
		st.pending = append(st.pending, msg.Events...)
		st.sync = st.sync || msg.Sync
		if msg.AckTo != nil || msg.Done != nil {
			st.acks = append(st.acks, *msg)
		}
		h.commit(ctx)
	case *committed:
		st.inflight = false
		if msg.err != nil {
			st.d.logf("history: %v", msg.err)
		}
		fanOut(st.followers, msg.events)
		for _, a := range msg.acks {
			if a.AckTo != nil {
				ctx.Send(a.AckTo, a.AckMsg)
			}
			if a.Done != nil {
				close(a.Done)
			}
		}
		h.commit(ctx)
	case *subscribeEvents:
		st.followers[msg.Ch] = true
	case *unsubscribeEvents:
		unfollow(st.followers, msg.Ch)
	case *retain:
		if st.retaining || st.retention <= 0 {
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
	}
}

type retained struct{}

// commit starts writing what is pending, unless a commit is in flight.
func (h *historian) commit(ctx actor.Context) {
	st := h.st
	if st.inflight || len(st.pending) == 0 {
		return
	}
	evs, acks, sync := st.pending, st.acks, st.sync
	st.pending, st.acks, st.sync = nil, nil, false
	st.inflight = true
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	st.d.goGo(func() {
		err := st.store.Append(evs, sync)
		send(self, &committed{events: evs, acks: acks, err: err})
	})
}
