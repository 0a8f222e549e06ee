package services

import "time"

// Timer makes a service a timer service (`timer:` in a file, `herd
// schedule`): its command runs as a one-shot each time the timer fires,
// with everything a service has (user, limits, cgroup, log, history).
// services/timing decides when it fires; actors/timer fires it.
type Timer struct {
	// Calendar is a systemd OnCalendar expression (services/calendar),
	// in the daemon's local time unless it names a zone.
	Calendar string `json:",omitempty"`
	// Every fires the timer at this interval, from its last firing (or
	// from when it was armed).
	Every time.Duration `json:",omitempty"`
	// RandomizedDelay delays each firing by a random time in [0, d).
	RandomizedDelay time.Duration `json:",omitempty"`
	// Persistent: a firing missed while the daemon was down happens once
	// when it starts again, judged from the last one recorded in history.
	Persistent bool `json:",omitempty"`
	// Overlap is what a firing does while the last run still runs.
	Overlap Overlap `json:",omitempty"`
	// At, for `herd schedule`: the one time the service runs; then it
	// is gone (a transient).
	At time.Time `json:",omitzero"`
}

// Overlap is what a timer does when it fires while its last run still
// runs: skip this firing (the default), queue one run after it, or kill
// it and start again.
type Overlap string

const (
	OverlapSkip  Overlap = "skip"
	OverlapQueue Overlap = "queue"
	OverlapKill  Overlap = "kill"
)

// Schedule makes s, a transient, a one-time job at at (`herd schedule`):
// a one-shot that its timer starts once.
func Schedule(s *Spec, at time.Time) {
	s.Timer = &Timer{At: at, Persistent: true}
	s.OneShot, s.Respawn, s.AutoStart = true, false, false
}
