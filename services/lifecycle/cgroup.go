package lifecycle

import (
	"syscall"
	"time"
)

// A service with a cgroup (services.Policy.Cgroup: the daemon runs each service in
// a cgroup of its own, issue 16) is stopped only when its cgroup is empty:
// what the main process left behind, double-forked or in a session of its
// own, is killed with the cgroup (KillCgroup) and the machine waits for
// CgroupEmpty before it calls the service stopped, and before it spawns a
// process again (a respawn, or a start after a failed one). Without a
// cgroup the process group stands in, as before: SIGKILL to the group
// the main process led.

// CgroupWait bounds the wait for a killed cgroup to empty. A process in
// uninterruptible sleep outlives SIGKILL; the wait ends all the same and
// says what is left.
const CgroupWait = 5 * time.Second

type (
	// KillCgroup kills every process of the service's cgroup (SIGKILL)
	// and waits, at most CgroupWait, until it is empty; answered by
	// CgroupEmpty with the same Gen.
	KillCgroup struct{ Gen uint64 }

	// CgroupEmpty answers KillCgroup: the cgroup is empty, or Left
	// processes were still in it after CgroupWait (Issue says which).
	CgroupEmpty struct {
		Gen   uint64
		Left  int
		Issue string
		At    time.Time
	}
)

func (KillCgroup) effect()          {}
func (e CgroupEmpty) at() time.Time { return e.At }

// killAll kills what the service's processes are: the whole cgroup, or
// the group of process pgid when there is no cgroup (0: nothing to kill).
// It reports whether a KillCgroup was emitted (then CgroupEmpty follows).
func (m *Machine) killAll(pgid int, emit func(...Effect)) bool {
	if !m.policy.Cgroup {
		if pgid != 0 {
			emit(Signal{PGID: pgid, Sig: syscall.SIGKILL})
		}
		return false
	}
	m.cgroupGen++
	m.killing = true
	emit(KillCgroup{Gen: m.cgroupGen})
	return true
}

// spawn spawns the process, or once the cgroup is empty if it is being
// killed: a respawn must not run beside what its predecessor left (the
// workers of a killed nginx master hold its port).
func (m *Machine) spawn(emit func(...Effect)) {
	if m.killing {
		m.spawnWhenEmpty = true
		return
	}
	emit(Spawn{})
}

// stopWhenEmpty ends a stop whose processes are all gone, or waits in
// Stopping for the cgroup to empty.
func (m *Machine) stopWhenEmpty(now time.Time, emit func(...Effect)) {
	if m.killing {
		m.phase = awaitEmpty
		return
	}
	m.becomeStopped(now, emit)
}

func (m *Machine) onCgroupEmpty(ev CgroupEmpty, emit func(...Effect)) {
	if !m.killing || ev.Gen != m.cgroupGen {
		return // an answer to a kill superseded since
	}
	m.killing = false
	switch {
	case m.state == Stopping && m.phase == awaitEmpty:
		if ev.Left > 0 && m.stopIssue == "" {
			m.stopIssue = ev.Issue
		}
		m.becomeStopped(ev.At, emit)
	case m.spawnWhenEmpty:
		m.spawnWhenEmpty = false
		if m.state == Starting && m.phase == awaitSpawn {
			emit(Spawn{})
		}
	}
}
