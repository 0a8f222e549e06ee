package lifecycle

import (
	"fmt"
	"time"
)

// Readiness events. Each comes from the actor, which watches the
// mechanism the policy names (WatchReady); the sd_notify ones are only
// ever fed for datagrams that come from the service's own processes.
type (
	// Ready says the service is ready: READY=1, a newline on the
	// notification fd, or a probe that succeeded.
	Ready struct{ At time.Time }
	// ProbeFailed reports a probe that did not succeed; Detail says why
	// ("dial tcp 127.0.0.1:80: connection refused"), for the reason of a
	// start that is not ready in time.
	ProbeFailed struct {
		Detail string
		At     time.Time
	}
	// StatusText is sd_notify's STATUS=: free text shown in status.
	StatusText struct {
		Text string
		At   time.Time
	}
	// MainPID is sd_notify's MAINPID=: PID, a process of the service
	// (which the actor checked and took a handle on), is now the main one.
	MainPID struct {
		PID int
		At  time.Time
	}
	// Reloading is sd_notify's RELOADING=1; a READY=1 ends it.
	Reloading struct{ At time.Time }
	// StoppingNotice is sd_notify's STOPPING=1: the service says it is
	// shutting down on its own.
	StoppingNotice struct{ At time.Time }
	// WatchdogPing is sd_notify's WATCHDOG=1, or with Trigger
	// WATCHDOG=trigger: the service asks to be treated as hung.
	WatchdogPing struct {
		Trigger bool
		At      time.Time
	}
	// ExtendTimeout is sd_notify's EXTEND_TIMEOUT_USEC=: the start may
	// take until By from now, if that is later than its start-timeout.
	ExtendTimeout struct {
		By time.Duration
		At time.Time
	}
)

func (e Ready) at() time.Time          { return e.At }
func (e ProbeFailed) at() time.Time    { return e.At }
func (e StatusText) at() time.Time     { return e.At }
func (e MainPID) at() time.Time        { return e.At }
func (e Reloading) at() time.Time      { return e.At }
func (e StoppingNotice) at() time.Time { return e.At }
func (e WatchdogPing) at() time.Time   { return e.At }
func (e ExtendTimeout) at() time.Time  { return e.At }

// Readiness effects.
type (
	// WatchReady asks the actor to watch for readiness the way the spec
	// says (start probing, read the notification fd); each sign comes
	// back as Ready, each failed probe as ProbeFailed.
	WatchReady struct{}
	// UnwatchReady ends WatchReady: stop probing, close the notification
	// fd. (The sd_notify socket stays: STATUS=, WATCHDOG=1 and the like
	// matter as long as the process runs.)
	UnwatchReady struct{}
)

func (WatchReady) effect()   {}
func (UnwatchReady) effect() {}

// readyState is what the machine knows of the readiness of the current
// start, and what sd_notify said of the current process.
type readyState struct {
	since    time.Time // the readiness phase began (the process runs)
	deadline time.Time // start-timeout, extended by EXTEND_TIMEOUT_USEC
	ready    bool      // Ready seen
	uptime   bool      // min-uptime reached
	// respawn: this start is a respawn; a process that fails it is a
	// crash, subject to the respawn limit, rather than a failed start.
	respawn bool
	// killReason is why the start failed, while its process is killed.
	killReason string
	probe      string // the last failed probe's detail
	// watchdogKill: the watchdog killed the process; its exit says so.
	watchdogKill bool

	status    string // STATUS=
	reloading bool
	stopping  bool
}

// enterReadiness begins the readiness phase of a start whose process
// runs: wait for Ready and for min-uptime, bounded by start-timeout.
func (m *Machine) enterReadiness(now time.Time, emit func(...Effect)) {
	p := m.policy.Ready
	m.phase = awaitReady
	m.rd.since, m.rd.ready, m.rd.uptime, m.rd.probe, m.rd.killReason = now, false, false, "", ""
	if p.Await {
		emit(WatchReady{})
		if p.StartTimeout > 0 {
			m.rd.deadline = now.Add(p.StartTimeout)
			m.gens[StartTimeoutTimer]++
			emit(ArmTimer{Timer: StartTimeoutTimer, After: p.StartTimeout, Gen: m.gens[StartTimeoutTimer]})
		}
	}
	if p.MinUptime > 0 {
		m.gens[MinUptimeTimer]++
		emit(ArmTimer{Timer: MinUptimeTimer, After: p.MinUptime, Gen: m.gens[MinUptimeTimer]})
	}
}

// leaveReadiness cancels what the readiness phase armed.
func (m *Machine) leaveReadiness(emit func(...Effect)) {
	m.gens[StartTimeoutTimer]++
	m.gens[MinUptimeTimer]++
	if m.policy.Ready.Await {
		emit(UnwatchReady{})
	}
}

// checkReady ends the readiness phase once the service is ready and has
// run for min-uptime.
func (m *Machine) checkReady(now time.Time, emit func(...Effect)) {
	p := m.policy.Ready
	if (p.Await && !m.rd.ready) || (p.MinUptime > 0 && !m.rd.uptime) {
		return
	}
	m.leaveReadiness(emit)
	m.rd.respawn = false
	m.becomeRunning(now, emit)
	m.armWatchdog(emit)
}

func (m *Machine) armWatchdog(emit func(...Effect)) {
	if m.policy.Ready.Watchdog > 0 && m.policy.Ready.Notify && m.state == Running {
		m.gens[WatchdogTimer]++
		emit(ArmTimer{Timer: WatchdogTimer, After: m.policy.Ready.Watchdog, Gen: m.gens[WatchdogTimer]})
	}
}

// onReadyEvent steps the readiness events.
func (m *Machine) onReadyEvent(ev Event, emit func(...Effect)) {
	inPhase := m.state == Starting && m.phase == awaitReady
	switch ev := ev.(type) {
	case Ready:
		switch {
		case inPhase:
			m.rd.ready = true
			m.checkReady(ev.At, emit)
		case m.state == Running:
			m.rd.reloading = false
		}
	case ProbeFailed:
		if inPhase {
			m.rd.probe = ev.Detail
		}
	case StatusText:
		if m.pid != 0 {
			m.rd.status = ev.Text
		}
	case MainPID:
		if (inPhase || m.state == Running) && ev.PID > 0 {
			m.pid = ev.PID
		}
	case Reloading:
		if m.state == Running {
			m.rd.reloading = true
		}
	case StoppingNotice:
		if m.pid != 0 {
			m.rd.stopping = true
		}
	case WatchdogPing:
		if m.state != Running || m.pid == 0 || m.policy.Ready.Watchdog == 0 {
			return
		}
		if ev.Trigger {
			m.watchdogKill(emit)
			return
		}
		m.armWatchdog(emit)
	case ExtendTimeout:
		if !inPhase || m.policy.Ready.StartTimeout == 0 {
			return
		}
		if d := ev.At.Add(ev.By); d.After(m.rd.deadline) {
			m.rd.deadline = d
			m.gens[StartTimeoutTimer]++
			emit(ArmTimer{Timer: StartTimeoutTimer, After: ev.By, Gen: m.gens[StartTimeoutTimer]})
		}
	}
}

// watchdogKill ends a process that missed its watchdog: SIGKILL, and its
// exit is a crash like any other (respawned within the limit).
func (m *Machine) watchdogKill(emit func(...Effect)) {
	m.gens[WatchdogTimer]++
	m.rd.watchdogKill = true
	m.killAll(m.pid, emit) // its cgroup, or its process group
}

// onReadyTimer handles the readiness timers, and the kill timer of a
// start that failed; it reports whether ev was one of those.
func (m *Machine) onReadyTimer(ev TimerFired, emit func(...Effect)) bool {
	inPhase := m.state == Starting && m.phase == awaitReady
	switch ev.Timer {
	case StartTimeoutTimer:
		if inPhase && m.pid != 0 && m.policy.Ready.StartTimeout > 0 {
			// The deadline, not the clock: "not ready after 10s", as
			// configured (or as EXTEND_TIMEOUT_USEC extended it).
			reason := fmt.Sprintf("not ready after %v", m.rd.deadline.Sub(m.rd.since).Round(time.Millisecond))
			if m.rd.probe != "" {
				reason += " (last probe: " + m.rd.probe + ")"
			}
			m.leaveReadiness(emit)
			m.rd.killReason = reason
			m.phase = awaitKilled
			m.gens[KillTimer]++
			m.killAll(m.pid, emit) // its cgroup, or its process group
			emit(ArmTimer{Timer: KillTimer, After: m.policy.KillWait, Gen: m.gens[KillTimer]})
		}
	case MinUptimeTimer:
		if inPhase && m.policy.Ready.MinUptime > 0 {
			m.rd.uptime = true
			m.checkReady(ev.At, emit)
		}
	case WatchdogTimer:
		if m.state == Running && m.pid != 0 && m.policy.Ready.Watchdog > 0 && m.policy.Ready.Notify {
			m.watchdogKill(emit)
		}
	case KillTimer:
		if m.state != Starting || m.phase != awaitKilled || m.pid == 0 {
			return false
		}
		// The process outlived SIGKILL: the start fails without its exit.
		pid := m.pid
		emit(Disown{PID: pid})
		m.pid = 0
		m.failEarly(fmt.Sprintf("%s; process %d could not be killed: still there %v after SIGKILL", m.rd.killReason, pid, m.policy.KillWait), nil, ev.At, emit)
	default:
		return false
	}
	return true
}

// onEarlyExit handles the exit of the main process before the start
// ended: before it was ready or before min-uptime, or once killed for
// not being ready in time. What it left (its cgroup, or its group) is
// killed; the next spawn waits until the cgroup is empty.
func (m *Machine) onEarlyExit(ev Exited, emit func(...Effect)) {
	if !m.killing {
		m.killAll(ev.PID, emit)
	}
	reason := m.rd.killReason
	if m.phase == awaitReady {
		m.leaveReadiness(emit)
		before := "it was ready"
		if !m.policy.Ready.Await || m.rd.ready {
			before = "min-uptime " + m.policy.Ready.MinUptime.String()
		}
		reason = fmt.Sprintf("%s after %v, before %s", ev.Status, m.lastExit.Runtime.Round(time.Millisecond), before)
	}
	m.gens[KillTimer]++
	m.failEarly(reason, &ev, ev.At, emit)
}

// failEarly ends a start whose process did not make it: a failed start,
// or, when the start was a respawn, a crash like any other (respawned
// again within the respawn limit).
func (m *Machine) failEarly(reason string, ev *Exited, now time.Time, emit func(...Effect)) {
	if m.rd.respawn && ev != nil && m.policy.Respawn && m.enabled {
		m.onCrash(*ev, emit)
		return
	}
	m.rd.respawn = false
	m.fail(reason, now, emit)
}

// stopInReadiness handles a Stop while the readiness phase runs or while
// the process of a failed start is killed.
func (m *Machine) stopInReadiness(now time.Time, emit func(...Effect)) {
	m.abortStarts(emit)
	m.rd.respawn = false
	if m.phase == awaitKilled {
		// SIGKILL was sent: its kill timer ends the stop if the exit
		// never comes.
		m.setState(Stopping, awaitExit, now, emit)
		return
	}
	m.leaveReadiness(emit)
	m.setState(Stopping, awaitExit, now, emit)
	m.sendStopSignal(emit)
}

// annotateExit adds to the exit record what the machine knows of why the
// process ended.
func (m *Machine) annotateExit(r *Record) {
	if m.rd.watchdogKill {
		m.rd.watchdogKill = false
		r.Message = fmt.Sprintf("killed by the watchdog: no WATCHDOG=1 within %v", m.policy.Ready.Watchdog)
	}
}

// resetNotified forgets what sd_notify said of the previous process.
func (m *Machine) resetNotified() {
	m.rd.status, m.rd.reloading, m.rd.stopping, m.rd.watchdogKill = "", false, false, false
}
