// Package timer fires timer services (services.Timer): one actor per
// timer service, a child of the registry beside the service's
// controller, and a Board where the daemon finds them all (`herd
// timers`, `herd trigger`, `herd schedule`).
//
// The actor decides nothing itself: services/timing says when the timer
// fires next and what a firing does while the last run still runs. It
// arms one time.Timer for the next firing (no polling: an idle timer
// costs nothing between firings), and on firing asks the service's
// controller to start (a PeerStart, as the registry's auto-start does),
// so that the run is the service's, with its user, limits, cgroup, log
// and history. The controller answers when the one-shot has ended; the
// actor then records the run.
//
// What a timer keeps is one record in the history store
// (RecordKind, keyed by the service's name): the due time of its last
// firing, from which the next one is counted after a restart or a
// re-exec (and a persistent timer's missed firing judged), and its last
// run's start, end, result and duration, which `herd timers` shows. The
// record of a firing is written, synced, before the run starts, so that
// a re-exec or a crash right after it does not fire it again. Firings,
// skips and catch-ups are history events of the service too.
package timer
