// Package daemon assembles a running shepherd: its options, start and
// shutdown, the actor tree (the coordinator over the history writer, the
// caretaker, the process monitor and the registry, whose children are the
// services' controllers, loggers, groups and proxies; see actors/...),
// the one reaper, the control socket and its libp2p twin, the routing and
// authorization of every request (api.go), exec, re-exec, and the daemon
// log. The actors get what they need of it through small Env values,
// never the Daemon itself.
package daemon
