package lifecycle

import (
	"slices"
	"time"
)

// Ordering without requiring (services/order.go): a start also
//
//   - starts the services it wants (StartPeers), without waiting for
//     them or failing with them: their answers are not awaited;
//   - asks those it is after whether they are starting (AwaitPeers), and
//     waits until each answers that its start ended, whatever the
//     outcome;
//   - stops those it conflicts with (StopPeers), and waits until each is
//     down.
//
// The process starts once its requirements are running and these
// settled. The other side of after is AwaitStart: a service asked
// answers at once unless it is starting, and otherwise when its start
// ends.

// PeerAwait asks a peer to answer once its start in progress, if any,
// has ended (AwaitStart).
const PeerAwait PeerOp = PeerStop + 1

type (
	// AwaitStart asks for an answer once the service's start in
	// progress ends (at once if it is not starting): a service that is
	// after it waits for it.
	AwaitStart struct {
		Waiter Waiter
		At     time.Time
	}
	// SetConflicts tells the machine which services it conflicts with,
	// both ways: those its definition names and those naming it.
	SetConflicts struct {
		Names []string
		At    time.Time
	}
	// AwaitPeers asks each named service to answer (PeerDone with
	// PeerAwait) once its start in progress, if any, has ended.
	AwaitPeers struct{ Names []string }
)

func (e AwaitStart) at() time.Time   { return e.At }
func (e SetConflicts) at() time.Time { return e.At }
func (AwaitPeers) effect()           {}

// hasOrderPeers reports whether a start has more to do than its
// requirements before its process: services to want, wait for or stop.
func (m *Machine) hasOrderPeers() bool {
	return len(m.policy.Wants) > 0 || len(m.policy.After) > 0 || len(m.conflicts) > 0
}

// orderPeers sends a start's requests to the services it wants, is after
// and conflicts with; those it waits for are in m.order.
func (m *Machine) orderPeers(emit func(...Effect)) {
	m.order = nil
	var wants, after, stop []string
	for _, n := range m.policy.Wants {
		if !slices.Contains(m.policy.Requires, n) {
			wants = append(wants, n)
		}
	}
	for _, n := range m.policy.After {
		if !slices.Contains(m.policy.Requires, n) {
			after = append(after, n)
		}
	}
	for _, n := range m.conflicts {
		if !slices.Contains(m.policy.Requires, n) && !slices.Contains(m.policy.Wants, n) && !slices.Contains(m.policy.After, n) {
			stop = append(stop, n)
		}
	}
	if len(after)+len(stop) > 0 {
		m.order = make(map[string]PeerOp, len(after)+len(stop))
	}
	if len(stop) > 0 {
		for _, n := range stop {
			m.order[n] = PeerStop
		}
		emit(StopPeers{Names: stop})
	}
	if len(wants) > 0 {
		emit(StartPeers{Names: wants})
	}
	if len(after) > 0 {
		// After the wanted ones' starts: a service both wanted and
		// after is starting by the time it is asked.
		for _, n := range after {
			m.order[n] = PeerAwait
		}
		emit(AwaitPeers{Names: after})
	}
}

// onOrderDone takes a peer's answer to orderPeers' requests, and reports
// whether it was one. Once requirements and these are all settled, the
// process starts.
func (m *Machine) onOrderDone(ev PeerDone, emit func(...Effect)) bool {
	op, ok := m.order[ev.Name]
	if !ok || op != ev.Op {
		return false
	}
	delete(m.order, ev.Name)
	if len(m.order) == 0 {
		m.order = nil
	}
	if m.state != Starting || m.phase != awaitRequires {
		return true
	}
	if op == PeerStop {
		// What the conflicting service's stop stopped shows in the
		// answer, as a requirement's start does.
		for _, s := range ev.Result.Steps {
			if !slices.Contains(m.steps, s) {
				m.steps = append(m.steps, s)
			}
		}
	}
	if len(m.order) == 0 && len(m.pending) == 0 {
		m.launch(ev.At, emit)
	}
	return true
}

// onAwaitStart answers at once, unless the service is starting: then
// when its start ends (settleWatchers).
func (m *Machine) onAwaitStart(ev AwaitStart, emit func(...Effect)) {
	if m.state == Starting {
		m.addWaiter(&m.startWatchers, ev.Waiter)
		return
	}
	m.reply(emit, ev.Waiter, Result{Outcome: outcomeOf(m.state)})
}

// settleWatchers answers those waiting for a start to end, as the
// machine leaves Starting for s.
func (m *Machine) settleWatchers(from, s State, emit func(...Effect)) {
	if from != Starting || s == Starting || len(m.startWatchers) == 0 {
		return
	}
	m.replyAll(emit, m.startWatchers, Result{Outcome: outcomeOf(s)})
	m.startWatchers = nil
}

func outcomeOf(s State) Outcome {
	switch s {
	case Running:
		return OutStarted
	case Failed:
		return OutFailed
	case Stopped, Stopping:
		return OutNotRunning
	}
	return OutNotRunning
}
