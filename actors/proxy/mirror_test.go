package proxy

import (
	"testing"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestMirrorKeepsTheNewestOfEventsAndAnswers plays the orders in which a
// proxy hears of its remote service: events on the follow stream and
// answers to its calls race, and the older must never undo the newer.
func TestMirrorKeepsTheNewestOfEventsAndAnswers(t *testing.T) {
	event := func(state string, seq uint64) remoteState { return remoteState{State: state, Seq: seq} }
	answer := func(state string, seq uint64) remoteState { return remoteState{Answer: true, State: state, Seq: seq} }
	const (
		running  = wire.StateRunning
		starting = wire.StateStarting
		stopped  = wire.StateStopped
		failed   = wire.StateFailed
		down     = wire.StateUnreachable
	)
	for _, tc := range []struct {
		name  string
		from  mirror
		news  []remoteState
		state string
		seq   uint64
	}{
		{"events in order", mirror{State: stopped}, []remoteState{event(starting, 11), event(running, 12)}, running, 12},
		{"a start's events trail its answer", mirror{State: stopped, Seq: 10},
			[]remoteState{answer(running, 12), event(starting, 11), event(running, 12)}, running, 12},
		{"the answer trails the events", mirror{State: stopped, Seq: 10},
			[]remoteState{event(starting, 11), event(running, 12), answer(running, 12)}, running, 12},
		{"the service died before the answer came", mirror{State: stopped, Seq: 10},
			[]remoteState{event(starting, 11), event(running, 12), event(failed, 14), answer(running, 12)}, failed, 14},
		{"and after it", mirror{State: stopped, Seq: 10},
			[]remoteState{answer(running, 12), event(failed, 14)}, failed, 14},
		{"a stop's answer before a start's late events", mirror{State: running, Seq: 12},
			[]remoteState{answer(stopped, 16), event(starting, 11), event(running, 12)}, stopped, 16},
		{"an answer without a number is taken", mirror{State: stopped, Seq: 10}, []remoteState{answer(running, 0)}, running, 10},
		{"an answer that says nothing of the state", mirror{State: running, Seq: 10}, []remoteState{answer("", 12)}, running, 12},
		{"a status as new as the last event", mirror{State: running, Seq: 12}, []remoteState{answer(running, 12)}, running, 12},
		{"unreachable, then back", mirror{State: running, Seq: 12},
			[]remoteState{{Err: "unreachable: link down"}, {Reset: true}, answer(running, 12)}, running, 12},
		{"an exporter that counts anew", mirror{State: running, Seq: 500},
			[]remoteState{{Err: "unreachable: connection reset"}, {Reset: true}, answer(stopped, 3), event(starting, 4)}, starting, 4},
		{"a refused call changes no state", mirror{State: running, Seq: 12},
			[]remoteState{{Refused: "capability-revoked: the capability was revoked"}}, running, 12},
	} {
		m := tc.from
		for _, n := range tc.news {
			m = m.apply(n)
		}
		if m.State != tc.state || m.Seq != tc.seq {
			t.Errorf("%s: state %s, seq %d; want %s, %d", tc.name, m.State, m.Seq, tc.state, tc.seq)
		}
	}
}

func TestMirrorErrors(t *testing.T) {
	m := mirror{State: wire.StateRunning, Seq: 7}.apply(remoteState{Err: "unreachable: timeout"})
	if m.State != wire.StateUnreachable || m.Err != "unreachable: timeout" {
		t.Errorf("unreachable: %+v", m)
	}
	m = mirror{State: wire.StateRunning}.apply(remoteState{Refused: "permission-denied"})
	if m.State != wire.StateRunning || m.Err != "permission-denied" {
		t.Errorf("refused: %+v", m)
	}
	if m = m.apply(remoteState{Answer: true, State: wire.StateRunning}); m.Err != "" {
		t.Errorf("an answer clears the error: %+v", m)
	}
}

func TestAnsweredReadsStateOrOutcome(t *testing.T) {
	for _, tc := range []struct {
		result string
		want   string
	}{
		{`{"name":"web","state":"starting"}`, wire.StateStarting},
		{`{"service":"web","outcome":"started"}`, wire.StateRunning},
		{`{"service":"web","outcome":"already-running"}`, wire.StateRunning},
		{`{"service":"web","outcome":"stopped"}`, wire.StateStopped},
		{`{"service":"web","outcome":"not-running"}`, wire.StateStopped},
		{`{"service":"web","output":"reloaded"}`, ""},
	} {
		n := answered(wire.Reply{OK: true, Result: []byte(tc.result), Seq: 9}, nil)
		if !n.Answer || n.State != tc.want || n.Seq != 9 {
			t.Errorf("%s: %+v, want state %q", tc.result, n, tc.want)
		}
	}
}

func TestOnlyReachabilityIsRecorded(t *testing.T) {
	for _, c := range []struct {
		before, after string
		want          bool
	}{
		{wire.StateStopped, wire.StateUnreachable, true},
		{wire.StateUnreachable, wire.StateRunning, true},
		{wire.StateRunning, wire.StateStopped, false},
		{wire.StateStopped, wire.StateRunning, false},
		{wire.StateUnreachable, wire.StateUnreachable, false},
	} {
		if got := reachabilityChanged(c.before, c.after); got != c.want {
			t.Errorf("%s -> %s: %v, want %v", c.before, c.after, got, c.want)
		}
	}
}
