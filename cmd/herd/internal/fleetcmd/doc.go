// Package fleetcmd is herd's commands on many hosts: `herd hosts` (the
// inventory's hosts a selector picks) and `herd fleet` (exec, history,
// show, diff, export, bootstrap), with the selector and inventory flags
// they share. Running on the hosts, grouping and diffing answers are
// package fleet's; this package parses the command line, records runs
// with the local daemon and prints, as herd-cli.md and docs/fleet.md say.
package fleetcmd
