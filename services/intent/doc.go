// Package intent is what the daemon keeps of its services' intent across
// its own restarts, as `systemctl enable` persists: whether each service
// may run (disabled by `herd disable` or by its respawn limit, with when,
// who and why) and how many instances each group scaled with `herd
// scale` runs. One small record per service, in the history store under
// RecordKind, keyed by the service's name: the controllers write those of
// services and instances (from the machine's KeepIntent), the registry
// those of groups.
//
// Decide, pure and table-tested, says what a daemon that starts brings
// back: from the records and the services its configuration defines now,
// which services start disabled, which groups run another number of
// instances than their file's, and which records no longer apply (their
// service is gone, or its file changed since the scale), with a log line
// for each. Writing and reading the store are the caller's.
package intent
