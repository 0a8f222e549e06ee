package wire

import "time"

// Timers: `timers` lists the daemon's timer services and its pending
// one-time jobs (TimersResult); `trigger` with a service runs a timer
// service now (TriggerResult); `schedule`, with one argument, a
// SpawnArgs with At, makes a transient service that runs once at At
// (ScheduleResult). The three need the daemon's own authority.

// TimersResult answers `timers`, sorted by next firing (never last).
type TimersResult struct {
	// Now is the daemon's clock when it answered: LEFT and PASSED are
	// counted from it.
	Now    time.Time   `json:"now"`
	Timers []TimerInfo `json:"timers"`
}

// TimerInfo is one timer, as `systemctl list-timers` shows one.
type TimerInfo struct {
	Service string `json:"service"`
	// Schedule is what the timer says: its calendar, "every 10m", or
	// "at TIME" for a one-time job.
	Schedule   string `json:"schedule"`
	Persistent bool   `json:"persistent,omitempty"`
	Overlap    string `json:"overlap,omitempty"`
	// OneTime: a job of `herd schedule`, gone once it ran; Command is
	// its command.
	OneTime bool     `json:"one_time,omitempty"`
	Command []string `json:"command,omitempty"`
	// Next is when it fires next (zero: never).
	Next time.Time `json:"next,omitzero"`
	// Last is the start of its last run, Result how it ended ("success",
	// "failed: REASON", "disabled", "running"), Duration how long it
	// ran.
	Last       time.Time `json:"last,omitzero"`
	Result     string    `json:"result,omitempty"`
	DurationMS int64     `json:"duration_ms,omitempty"`
	Running    bool      `json:"running,omitempty"`
	Queued     bool      `json:"queued,omitempty"`
}

// TriggerResult answers `trigger`: what the firing did (start, skip,
// queue, restart: as the timer's overlap says while a run runs).
type TriggerResult struct {
	Service string `json:"service"`
	Action  string `json:"action"`
}

// ScheduleResult answers `schedule`: the transient made and when it
// runs.
type ScheduleResult struct {
	Service string    `json:"service"`
	At      time.Time `json:"at"`
}
