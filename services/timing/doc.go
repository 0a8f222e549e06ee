// Package timing decides, without a clock of its own, when a timer
// service fires next (Next) and what a firing does while the last run
// still runs (OnFire). actors/timer reads the clock, draws the random
// delay, keeps the last firing in history and carries the decisions out.
//
// A timer fires at its calendar's next elapse (services/calendar) or
// every interval after its last firing, plus a random delay in [0,
// randomized-delay). What is kept of a firing (Plan.Keep, in history)
// is its due time, or the time it was made when it was made late; the
// next firing is counted from it, also after a restart or a re-exec.
// A persistent timer whose due time passed while the daemon was down
// fires once as the daemon starts again (a catch-up), however many
// firings were missed; one that is not persistent skips them. A due
// time that passed while the daemon re-executed itself is fired once at
// once, persistent or not: the daemon was never down. A one-time job
// (`herd schedule`) fires once, at once if its time passed.
package timing
