// Package timing decides, without a clock of its own, when a timer
// service fires next (Next) and what a firing does while the last run
// still runs (OnFire). actors/timer reads the clock, draws the random
// delay, keeps the last firing in history and carries the decisions out.
//
// A timer fires at its calendar's next elapse (services/calendar) or
// every interval after its last firing, plus a random delay in [0,
// randomized-delay). A firing is judged by its due time (before the
// delay), which history keeps: after a restart or a re-exec the timer
// carries on from it. A persistent timer whose due time passed while
// the daemon was down fires once as it is armed again (a catch-up),
// however many firings were missed; a timer that is not persistent
// skips them. A one-time job (`herd schedule`) fires once, at once if
// its time passed while the daemon was being re-executed.
package timing
