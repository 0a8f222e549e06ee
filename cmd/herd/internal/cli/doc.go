// Package cli is herd's command line: the root command, its global flags
// and the routing of custom actions, and the commands on one daemon
// (status, start, stop, log, history, cap, ...), each sending one request
// and formatting its reply exactly as herd-cli.md specifies. What every
// command shares is in cmdutil; command groups of their own live in
// packages beside it (fleetcmd: hosts and fleet; importcmd: import),
// which the root command registers. Of the daemon's side, herd links only
// the wire protocol and the unix dialer, so that it starts fast.
package cli
