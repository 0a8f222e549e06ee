// Package factscmd holds herd facts, herd monitors, herd query and herd
// collect: what a daemon's monitors learnt, how they last ran, SQL over
// the history, and how a collector's pulls go (docs/monitors.md,
// docs/query.md).
package factscmd
