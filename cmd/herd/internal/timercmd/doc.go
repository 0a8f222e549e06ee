// Package timercmd is herd's commands on timers: `herd timers` (the
// timer services and pending one-time jobs, as `systemctl list-timers`
// shows timers), `herd trigger NAME` (run a timer service now) and
// `herd schedule at TIME|in DURATION -- CMD` (a transient one-time job,
// as GNU Shepherd 1.0's herd schedule). The daemon's side is
// actors/timer.
package timercmd
