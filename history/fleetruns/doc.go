// Package fleetruns keeps the records of fleet runs (herd fleet exec,
// push, pull) in the history store, numbered one after another, so that
// `herd fleet history/show/diff` can compare today's answers with
// yesterday's. herd runs the commands; the daemon only keeps what herd
// reports, and the metrics count the runs from the same records.
package fleetruns
