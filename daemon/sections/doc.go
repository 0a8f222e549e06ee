// Package sections runs the daemon's configuration sections beside the
// services: started together, re-applied by reload. They are the
// notify: section (notifier), the jobs: expectations (actors/jobbook's
// watcher), the monitors: section (monitors) and the collect: list
// (facts/collect).
//
// Each section runs as one instance: its goroutines, started through the
// daemon's accounted helper and counted here, under a context derived
// from the daemon's life. After the registry accepted a reload (the
// whole configuration is valid), Reload reads the sections again and,
// for each whose content changed (positions in the file aside), ends the
// old instance (cancels its context, waits for its goroutines, at most
// StopWait), waits until the history writer committed what it sent, and
// starts a new one from the history store: the notifier's cursor,
// outbox and incidents, the jobs' summaries, the collector's cursor of
// each host are all there, so a restart loses nothing and counts nothing
// twice. A section whose content is the same is not touched.
//
// Requests reach the current instance through Serve, which may be called
// from any goroutine while a reload replaces it.
package sections
