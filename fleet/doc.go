// Package fleet is what `herd hosts` and `herd fleet exec` stand on: the
// inventory of hosts (a shepherd's exec capability, or an ssh:// address
// for a host without one), selectors over its groups and tags, running a
// command on many hosts at once over either transport, and folding the
// answers: hosts whose output and exit are the same are one group, named
// by a folded host set such as web[1-5,7].
//
// The parsing, selecting and folding are pure and table-tested; the
// transports are in shepherd.go and ssh.go.
package fleet
