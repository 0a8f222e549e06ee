// Package factsbench is `make bench`'s facts section (issue 21): it
// seeds the pebble stores of N hosts with D days of history (one sample
// a minute of each built-in monitor's facts, hourly kernel and OS, a
// daily package list, service events with hourly timer runs and
// crashes), written with the real record encoding through
// history.Store.Write (the daemon's history writer's own call, without
// the actor in front of it: the section measures collection and
// queries, not the writer, which `make bench` measures apart); serves
// each host's facts-pull over its own libp2p host on loopback through
// facts/collect.Serve; pulls them all into one collector store with
// facts/collect.Round (the collector daemon's loop body); then times
// the seed query and its three companions on the collector's store
// through query.FromStore and query.Run, as `herd query` does, against
// a plain pebble scan of the same data.
package factsbench
