// Package fleetsim is the fleet simulator: one process hosting many
// lightweight exporters, each a shepherd's network side and nothing
// else: its own libp2p identity and host listening on loopback TCP
// (netlayer/p2p, built by p2p.NewHostFor as the daemon builds its own),
// its own caretaker (actors/caretaker) holding its capabilities, and the
// built-in exec target (internal/exectarget) running commands through
// the one monitor and reaper of the process, as a daemon does. A
// simulated exporter may also be a relay shepherd (fleet/relay).
//
// It runs in a process of its own (cmd/fleetsim): its reaper waits for
// every child of the process, which a test binary's own children must
// not meet, and the operator daemon's memory is measured apart.
//
// What it leaves out of a daemon: the registry, services, the history
// store (grants are kept in memory, the audit trail counted, not
// written), the unix socket. A request that is not exec (or relay-exec
// on a relay) is refused as a daemon refuses a request no capability
// allows.
package fleetsim
