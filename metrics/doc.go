// Package metrics serves the daemon's Prometheus metrics (`shepherd
// --metrics ADDR`, docs/metrics.md): every service's state, readiness,
// restarts, last exit, start durations and cgroup usage; the history
// writer's lag and batches; fleet runs; proxies' reachability and round
// trips; the Go runtime.
//
// Nothing is shared between actors: a scrape asks each owner, with a
// deadline, for a copy of what it counts (the registry for the
// services, the history writer for its commits, each proxy for its
// pings), reads the services' cgroups, and asks this package's own
// tally goroutine, which follows the committed history events (and
// reads new fleet runs from the store) to count restarts, exits and
// start durations. The pure counting is Tallies.
//
// Every scrape needs a capability (Authorization: Bearer <sturdyref>),
// checked by the caretaker as `herd --cap` is on the socket: a
// capability on the daemon itself (the root service, `shepherd`) reads
// everything, one on a service reads that service's series only, and
// without one (unless Public) the answer is 401 and says nothing of the
// services. NewHandler is the handler, for any server that mounts it.
package metrics
