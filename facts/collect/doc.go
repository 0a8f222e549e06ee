// Package collect is collection without a broker (docs/query.md,
// "Collecting a fleet"): a host answers facts-pull, read-only, to the
// holder of its facts capability with a page of its own history events
// and fact samples after a cursor; a collector daemon pulls each host of
// its collect: list over libp2p on an interval and keeps what it pulled
// in its own history, by host, with the host's cursor written in the
// same batch, so that nothing is counted twice and a host that was down
// is caught up when it returns.
package collect
