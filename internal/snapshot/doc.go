// Package snapshot gathers a host's facts for herd fleet snapshot: OS and
// kernel, uptime, CPUs and memory, disks and their usage, installed
// packages with versions (dpkg-query or rpm), systemd units where
// present, and (on a shepherd host) the shepherd's services and states.
//
// Gathering is one fixed shell script (Script) whose output is split in
// sections; the same script runs on a shepherd host (the read target's
// read-only snapshot action, spawned through the daemon's reaper) and
// over SSH on hosts without a shepherd, and the same pure parsers read
// it (Parse). Nothing in a request reaches the script: it takes no
// argument. Diff says, per host, what changed between two snapshots.
package snapshot
