// Package factscmd holds herd facts, herd monitors and herd query: what a
// daemon's monitors learnt, how they last ran, and SQL over the history
// (docs/monitors.md, docs/query.md).
package factscmd
