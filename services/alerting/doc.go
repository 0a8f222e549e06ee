// Package alerting decides, without I/O or a clock of its own, what the
// daemon's notifications say and when: it turns history events into
// observations of subjects (a service, a job, a fleet selector, a remote
// service), keeps incidents (one per subject, opened at its first
// failure, closed at its first success) and says which target is told
// what, once per incident, within each target's cooldown.
//
// Machine.Step(now, observation) and Machine.Tick(now) return effects
// (Notify, Keep); the notifier (package notifier) executes them: it
// stores every delivery before it tries it, and every incident as a
// history record. Everything is table-tested with a fake clock.
package alerting
