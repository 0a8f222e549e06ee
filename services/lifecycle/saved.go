package lifecycle

import (
	"fmt"
	"slices"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

// Saved is a machine's state in a form that outlives the daemon's
// process: a re-exec writes it and the new binary restores it (JSON).
// Only a machine at rest can be saved: one with nobody waiting on it and
// no step half done (see Machine.Save).
type Saved struct {
	State     State     `json:"state"`
	Since     time.Time `json:"since"`
	Enabled   bool      `json:"enabled"`
	PID       int       `json:"pid,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// Respawning: the process crashed and the respawn delay runs until
	// TimerDue. CoolingDown: the respawn limit was hit and the cooldown
	// runs until TimerDue.
	Respawning      bool          `json:"respawning,omitempty"`
	TimerDue        time.Time     `json:"timer_due,omitzero"`
	Dependents      []string      `json:"dependents,omitempty"`
	RespawnTimes    []time.Time   `json:"respawn_times,omitempty"`
	RespawnCount    int           `json:"respawn_count,omitempty"`
	LastRespawn     time.Time     `json:"last_respawn,omitzero"`
	Delay           time.Duration `json:"delay,omitempty"`
	DisabledByLimit bool          `json:"disabled_by_limit,omitempty"`
	// Disabled says since when and why a disabled machine is (an older
	// daemon hands over none).
	Disabled   Disabled  `json:"disabled,omitzero"`
	LastExit   *Exit     `json:"last_exit,omitempty"`
	Failing    bool      `json:"failing,omitempty"`
	FailedAt   time.Time `json:"failed_at,omitzero"`
	FailReason string    `json:"fail_reason,omitempty"`
	Done       bool      `json:"done,omitempty"`
	StopIssue  string    `json:"stop_issue,omitempty"`
	// StatusText is the process's sd_notify STATUS=.
	StatusText string `json:"status_text,omitempty"`
	// Sockets: the service's sockets are bound (the re-exec hands them
	// over). Waiting: it waits for a first connection to start its
	// process; Accepting: inetd-style, it accepts connections, of which
	// Connections are being served (activation.go).
	Sockets     bool   `json:"sockets,omitempty"`
	Waiting     bool   `json:"waiting,omitempty"`
	Accepting   bool   `json:"accepting,omitempty"`
	Connections int    `json:"connections,omitempty"`
	Served      uint64 `json:"served,omitempty"`
	Refused     uint64 `json:"refused,omitempty"`
}

// BusyError says a machine cannot be saved now: it is in the middle of a
// start or stop, or someone waits for it. Trying a little later works.
type BusyError struct {
	Service string
	State   State
}

func (e *BusyError) Error() string {
	return fmt.Sprintf("service %s is %s", e.Service, e.State)
}

// Save returns the machine's state for a re-exec. due says when each
// armed timer fires (the actor, not the machine, keeps time); the one the
// machine waits on is kept: the respawn delay of a crashed service, or the
// cooldown of one that hit its respawn limit. Machines in transition
// return *BusyError.
func (m *Machine) Save(due [NumTimers]time.Time) (Saved, error) {
	busy := len(m.startWaiters)+len(m.stopWaiters)+len(m.restartWaiters) > 0 || m.restarting ||
		len(m.pending) > 0 || len(m.order) > 0 || len(m.startWatchers) > 0 || m.stopWhenSpawned || m.startWhenStopped ||
		m.killing || m.spawnWhenEmpty
	respawning := m.state == Starting && m.phase == awaitRespawn
	switch {
	case m.state == Running && m.phase == idle, m.state == Stopped, m.state == Failed, respawning,
		m.state == Running && atRestActivation(m.phase):
	default:
		busy = true
	}
	if busy {
		return Saved{}, &BusyError{Service: m.policy.Name, State: m.state}
	}
	s := Saved{
		State: m.state, Since: m.since, Enabled: m.enabled, PID: m.pid, StartedAt: m.startedAt,
		Respawning: respawning, Dependents: slices.Clone(m.dependents),
		RespawnTimes: slices.Clone(m.respawnTimes), RespawnCount: m.respawnCount, LastRespawn: m.lastRespawn,
		Delay: m.delay, DisabledByLimit: m.disabledByLimit, Disabled: m.disabled, Failing: m.failing, FailedAt: m.failedAt,
		FailReason: m.failReason, Done: m.done, StopIssue: m.stopIssue, StatusText: m.rd.status,
	}
	switch {
	case respawning:
		s.TimerDue = due[RespawnTimer]
	case m.state == Failed && m.disabledByLimit && m.policy.RespawnCooldown > 0:
		s.TimerDue = due[CooldownTimer]
	}
	if m.lastExit != nil {
		e := *m.lastExit
		s.LastExit = &e
	}
	m.saveActivation(&s)
	return s, nil
}

// Restore rebuilds a saved machine under policy p. The effects re-arm the
// timer it was waiting on, for what is left of it at now.
func Restore(p services.Policy, s Saved, now time.Time) (*Machine, []Effect) {
	m := &Machine{
		policy: p, state: s.State, since: s.Since, enabled: s.Enabled, pid: s.PID, startedAt: s.StartedAt,
		dependents: slices.Clone(s.Dependents), respawnTimes: slices.Clone(s.RespawnTimes),
		respawnCount: s.RespawnCount, lastRespawn: s.LastRespawn, delay: s.Delay,
		disabledByLimit: s.DisabledByLimit, disabled: s.Disabled, failing: s.Failing, failedAt: s.FailedAt,
		failReason: s.FailReason, done: s.Done, stopIssue: s.StopIssue,
	}
	m.rd.status = s.StatusText
	if s.LastExit != nil {
		e := *s.LastExit
		m.lastExit = &e
	}
	if effects := m.restoreActivation(s); effects != nil {
		return m, effects
	}
	left := max(s.TimerDue.Sub(now), 0)
	switch {
	case s.Respawning:
		m.phase = awaitRespawn
		m.gens[RespawnTimer]++
		return m, []Effect{ArmTimer{Timer: RespawnTimer, After: left, Gen: m.gens[RespawnTimer]}}
	case s.State == Failed && s.DisabledByLimit && !s.TimerDue.IsZero():
		m.gens[CooldownTimer]++
		return m, []Effect{ArmTimer{Timer: CooldownTimer, After: left, Gen: m.gens[CooldownTimer]}}
	}
	// A watchdog starts over: the pings meanwhile went to no one.
	var out []Effect
	m.armWatchdog(func(e ...Effect) { out = append(out, e...) })
	return m, out
}
