// Package history keeps what happened to services in a pebble store:
// state changes, process starts and exits, respawns, client requests and
// daemon starts and stops, each an Event with a sequence number that never
// repeats. Keys sort by sequence, by time, and by service then time, so
// `herd history NAME`, `herd events --since` and flapping detection are
// range scans.
package history
