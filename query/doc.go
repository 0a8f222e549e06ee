// Package query answers `herd query SQL`: it builds read-only SQL tables
// (hosts, services, events, facts, packages, disks) from what a daemon's
// history holds, its own and, on a collector, other hosts', in a private
// in-memory SQLite database (modernc.org/sqlite, pure Go), and runs one
// SELECT on it, bounded in time and rows. docs/query.md documents the
// schema with examples; docs/design-notes.md says why SQL.
//
// Interruptions (the events table) are derived from the history by a pure
// function, Interruptions, table-tested with seeded histories.
package query
