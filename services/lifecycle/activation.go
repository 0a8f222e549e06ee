package lifecycle

import (
	"slices"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

// Socket activation in the machine (the spec's side is listen.go).
//
// The sockets belong to the service's life, not to one process: they are
// bound when it starts (Listen, before any process runs) and closed only
// when it ends up stopped or failed (CloseSockets) — never by a respawn
// or a restart, so that a client that connects meanwhile waits in the
// backlog and is served by the next process. A re-exec hands them over
// (Saved.Sockets).
//
// With ActivationSystemd the process gets them at each Spawn. With
// OnConnection the service is running, listening, without a process
// until a client connects (ConnectionPending): it then starts as after a
// respawn; a process that exits with success leaves it listening again.
// With ActivationInetd the service is running without a main process;
// the runtime accepts each connection (ConnAccepted) and the machine
// decides: ServeConn while fewer than MaxConnections are served, else
// RefuseConn, with a LogRefusals now and then. A stop signals the
// connections' processes and waits for them (ConnEnded) as it would for
// a main process.

// Phases of socket-activated services. They start at 100 to stay apart
// from the machine's own (machine.go).
const (
	awaitListen phase = iota + 100 // Starting: the sockets are being bound
	listening                      // Running (OnConnection): no process, waiting for a client
	accepting                      // Running (inetd): one process per accepted connection
	awaitConns                     // Stopping (inetd): the connections' processes are being stopped
)

// RefusalLogInterval is the most often that refused connections of an
// inetd-style service are reported while they go on.
const RefusalLogInterval = 10 * time.Second

// Events of socket activation.
type (
	// Listening answers Listen: every endpoint is bound and listens.
	Listening struct{ At time.Time }
	// ListenFailed answers Listen: an endpoint could not be bound
	// (Reason names it and says why).
	ListenFailed struct {
		Reason string
		At     time.Time
	}
	// ConnectionPending answers WatchConnection: a client waits on one of
	// the sockets.
	ConnectionPending struct{ At time.Time }
	// ConnAccepted reports a connection the runtime accepted for an
	// inetd-style service; ID names it in ServeConn or RefuseConn.
	ConnAccepted struct {
		ID uint64
		At time.Time
	}
	// ConnEnded reports that a connection's process exited, or could not
	// be started.
	ConnEnded struct{ At time.Time }
)

func (e Listening) at() time.Time         { return e.At }
func (e ListenFailed) at() time.Time      { return e.At }
func (e ConnectionPending) at() time.Time { return e.At }
func (e ConnAccepted) at() time.Time      { return e.At }
func (e ConnEnded) at() time.Time         { return e.At }

// Effects of socket activation.
type (
	// Listen binds the service's endpoints (those it holds already and
	// that did not change are kept); answered by Listening or
	// ListenFailed.
	Listen struct{}
	// CloseSockets closes the service's sockets (and ends any watch or
	// accepting on them): it no longer listens.
	CloseSockets struct{}
	// WatchConnection asks for one ConnectionPending once a client waits
	// on a socket; arming it again while armed changes nothing.
	WatchConnection struct{}
	// Accept starts (On) or stops accepting connections; stopped, the
	// sockets stay open and connections wait in the backlog.
	Accept struct{ On bool }
	// ServeConn starts the process of accepted connection ID.
	ServeConn struct{ ID uint64 }
	// RefuseConn closes accepted connection ID at once.
	RefuseConn struct{ ID uint64 }
	// SignalConns sends Sig to the process group of every connection.
	SignalConns struct{ Sig syscall.Signal }
	// LogRefusals reports connections refused at MaxConnections: Count
	// since Since, Active being served; Ended when serving resumed.
	LogRefusals struct {
		Count  int
		Since  time.Time
		Active int
		Max    int
		Ended  bool
	}
)

func (Listen) effect()          {}
func (CloseSockets) effect()    {}
func (WatchConnection) effect() {}
func (Accept) effect()          {}
func (ServeConn) effect()       {}
func (RefuseConn) effect()      {}
func (SignalConns) effect()     {}
func (LogRefusals) effect()     {}

// activation is the machine's socket state.
type activation struct {
	open  bool // the sockets are bound (Listen was asked, CloseSockets not since)
	conns int  // inetd: connections being served
	// served and refused count connections since the machine began.
	served, refused uint64
	// A refusal burst: refusals since burstStart, of which unlogged are
	// not reported yet; lastLog is when they last were.
	refusing   bool
	burstStart time.Time
	unlogged   int
	lastLog    time.Time
}

// ActivationSnapshot is what status shows of socket activation.
type ActivationSnapshot struct {
	// Listening: the sockets are bound. Waiting: no process, the first
	// connection starts one (OnConnection).
	Listening, Waiting bool
	// Connections being served, served and refused so far (inetd).
	Connections     int
	Served, Refused uint64
}

func (m *Machine) activationSnapshot() ActivationSnapshot {
	return ActivationSnapshot{
		Listening: m.act.open, Waiting: m.state == Running && m.phase == listening,
		Connections: m.act.conns, Served: m.act.served, Refused: m.act.refused,
	}
}

// Accepting reports whether an inetd-style service takes connections now:
// the runtime leaves them in the backlog otherwise (a stop or restart
// under way), rather than accept them to be refused.
func (m *Machine) Accepting() bool { return m.state == Running && m.phase == accepting }

// sockets reports whether the service is socket-activated.
func (m *Machine) sockets() bool { return m.policy.HasProcess && m.policy.Activation.Sockets() }

// listen begins a start's socket part: bind, then go on in onListening.
func (m *Machine) listen(emit func(...Effect)) {
	m.phase = awaitListen
	m.act.open = true
	emit(Listen{})
}

func (m *Machine) onActivation(ev Event, emit func(...Effect)) {
	switch ev := ev.(type) {
	case Listening:
		if m.state != Starting || m.phase != awaitListen {
			return // a start given up meanwhile
		}
		switch {
		case m.policy.Activation.Style == services.ActivationInetd:
			m.becomeRunning(ev.At, emit)
			m.phase = accepting
			emit(Accept{On: true})
		case m.policy.Activation.OnConnection:
			m.becomeRunning(ev.At, emit)
			m.phase = listening
			emit(WatchConnection{})
		default:
			m.phase = awaitSpawn
			m.spawn(emit)
		}
	case ListenFailed:
		if m.state == Starting && m.phase == awaitListen {
			m.fail(ev.Reason, ev.At, emit)
		}
	case ConnectionPending:
		if m.state == Running && m.phase == listening {
			// As a respawn: the service starts again, nobody waits.
			m.steps = nil
			m.setState(Starting, awaitSpawn, ev.At, emit)
			m.spawn(emit)
		}
	case ConnAccepted:
		m.onConnAccepted(ev, emit)
	case ConnEnded:
		m.onConnEnded(ev, emit)
	}
}

func (m *Machine) onConnAccepted(ev ConnAccepted, emit func(...Effect)) {
	a := &m.act
	if m.state != Running || m.phase != accepting {
		// Accepted just before accepting stopped.
		emit(RefuseConn{ID: ev.ID})
		return
	}
	max := m.maxConns()
	if a.conns < max {
		a.conns++
		a.served++
		emit(ServeConn{ID: ev.ID})
		return
	}
	a.refused++
	emit(RefuseConn{ID: ev.ID})
	a.unlogged++
	if !a.refusing {
		a.refusing, a.burstStart = true, ev.At
	}
	if a.lastLog.IsZero() || ev.At.Sub(a.lastLog) >= RefusalLogInterval {
		emit(LogRefusals{Count: a.unlogged, Since: a.burstStart, Active: a.conns, Max: max})
		a.unlogged, a.lastLog, a.burstStart = 0, ev.At, ev.At
	}
}

func (m *Machine) onConnEnded(ev ConnEnded, emit func(...Effect)) {
	a := &m.act
	if a.conns == 0 {
		return // one given up on by a stop
	}
	a.conns--
	if a.refusing {
		a.refusing = false
		emit(LogRefusals{Count: a.unlogged, Since: a.burstStart, Active: a.conns, Max: m.maxConns(), Ended: true})
		a.unlogged, a.lastLog = 0, ev.At
	}
	if m.state == Stopping && m.phase == awaitConns && a.conns == 0 {
		m.gens[StopTimer]++
		m.gens[KillTimer]++
		// What the connections' processes left in the cgroup goes too.
		m.killAll(0, emit)
		m.stopWhenEmpty(ev.At, emit)
	}
}

func (m *Machine) maxConns() int {
	if n := m.policy.Activation.MaxConnections; n > 0 {
		return n
	}
	return services.DefaultMaxConnections
}

// stopWithoutProcess ends a stop of a service that has no main process:
// an inetd-style service stops accepting and stops its connections'
// processes first. It reports whether the stop goes on (awaitConns);
// otherwise the caller ends it (once the cgroup is empty: what the
// connections' processes left is killed).
func (m *Machine) stopWithoutProcess(emit func(...Effect)) bool {
	if !m.sockets() || m.policy.Activation.Style != services.ActivationInetd || !m.act.open {
		return false
	}
	emit(Accept{On: false})
	if m.act.conns == 0 {
		if m.policy.Cgroup {
			m.killAll(0, emit)
		}
		return false
	}
	m.phase = awaitConns
	m.gens[StopTimer]++
	emit(SignalConns{Sig: m.policy.StopSignal},
		ArmTimer{Timer: StopTimer, After: m.policy.StopTimeout, Gen: m.gens[StopTimer]})
	return true
}

// onConnTimer handles the stop timers while connections are being
// stopped; it reports whether the timer was theirs.
func (m *Machine) onConnTimer(ev TimerFired, emit func(...Effect)) bool {
	if m.state != Stopping || m.phase != awaitConns {
		return false
	}
	switch ev.Timer {
	case StopTimer:
		m.gens[KillTimer]++
		emit(SignalConns{Sig: syscall.SIGKILL},
			ArmTimer{Timer: KillTimer, After: m.policy.KillWait, Gen: m.gens[KillTimer]})
	case KillTimer:
		m.stopIssue = "connection processes could not be stopped: still there " + m.policy.KillWait.String() + " after SIGKILL"
		m.act.conns = 0
		m.killAll(0, emit)
		m.stopWhenEmpty(ev.At, emit)
	default:
		return false
	}
	return true
}

// onListeningExit handles the exit of the process of a service started
// on connection: a success (exit code 0 or one of exit-codes) leaves it
// listening for the next client; a failure is a crash like any other. It reports whether it handled it.
//
// Each success counts against the respawn limit all the same, as
// systemd's trigger limit does: a process that exits without accepting
// leaves its client in the backlog, which starts it again at once, and
// forever. Past the limit, the crash path fails (or, without respawn,
// stops) the service, which closes its sockets.
func (m *Machine) onListeningExit(ev Exited, emit func(...Effect)) bool {
	if !m.sockets() || !m.policy.Activation.OnConnection || !succeeded(m.policy, ev.Status) {
		return false
	}
	if lim := m.policy.RespawnLimit; !lim.Unlimited {
		cut := ev.At.Add(-lim.Window)
		m.respawnTimes = slices.DeleteFunc(m.respawnTimes, func(t time.Time) bool { return !t.After(cut) })
		if len(m.respawnTimes) >= lim.Count {
			return false
		}
		m.respawnTimes = append(m.respawnTimes, ev.At)
	}
	if m.policy.Cgroup {
		// What it left goes before the next client starts it again
		// (which waits for the cgroup to be empty).
		m.killAll(0, emit)
	}
	m.phase = listening
	emit(WatchConnection{})
	return true
}

// dropSockets closes the sockets a reload took away from a service whose
// restart kept them.
func (m *Machine) dropSockets(emit func(...Effect)) {
	if m.act.open {
		m.act.open = false
		emit(CloseSockets{})
	}
}

// closeSocketsIfDown closes the sockets of a service that ended up
// stopped or failed; a stop on the way to a start keeps them.
func (m *Machine) closeSocketsIfDown(emit func(...Effect)) {
	if m.act.open && (m.state == Stopped || m.state == Failed) {
		m.act.open = false
		m.act.conns = 0
		m.act.refusing = false
		emit(CloseSockets{})
	}
}

// atRestActivation reports whether a Running machine in phase p is at
// rest for a re-exec.
func atRestActivation(p phase) bool { return p == listening || p == accepting }

// saveActivation and restoreActivation carry the socket state across a
// re-exec.
func (m *Machine) saveActivation(s *Saved) {
	s.Sockets, s.Connections = m.act.open, m.act.conns
	s.Waiting = m.state == Running && m.phase == listening
	s.Accepting = m.state == Running && m.phase == accepting
	s.Served, s.Refused = m.act.served, m.act.refused
}

func (m *Machine) restoreActivation(s Saved) []Effect {
	m.act.open, m.act.conns, m.act.served, m.act.refused = s.Sockets, s.Connections, s.Served, s.Refused
	switch {
	case s.Waiting:
		m.phase = listening
		return []Effect{WatchConnection{}}
	case s.Accepting:
		m.phase = accepting
		return []Effect{Accept{On: true}}
	}
	return nil
}
