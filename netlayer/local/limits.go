package local

import "fmt"

// Connection limits (docs/protocol.md). One caller must not be able to
// take every connection slot: 1100 idle connections of one user once
// locked root out of a daemon that served 1024 connections at once.
const (
	// DefaultMaxConns bounds the connections a Server serves at once;
	// more wait in the kernel's backlog.
	DefaultMaxConns = 1024
	// DefaultMaxConnsPerPeer bounds the connections of one unprivileged
	// caller: one uid on the unix socket, one peer ID on libp2p. A daemon
	// that imported capabilities holds two per imported service (its
	// event stream and its call line), a herd command one.
	DefaultMaxConnsPerPeer = 64
	// DefaultReservedConns of the MaxConns are kept for privileged
	// callers (root and the daemon's own uid): unprivileged callers
	// together get the rest.
	DefaultReservedConns = 64
	// DefaultMaxRequestsPerPeer bounds the requests one unprivileged
	// caller has in flight, over all its connections: each is a
	// goroutine and what its handler holds, and herd's fleet commands
	// send up to 256 at once on one connection (mux.go).
	DefaultMaxRequestsPerPeer = 1024
	// DefaultMaxRequests bounds the requests in flight of all
	// unprivileged callers together: over libp2p a new peer ID costs
	// nothing, so the per-caller bound alone would not bound the daemon.
	DefaultMaxRequests = 8192
)

// limits are a Server's connection limits, defaults filled in.
type limits struct {
	max, perPeer, reserved int
	// requests and requestsPerPeer bound unprivileged requests in flight.
	requests, requestsPerPeer int
}

// connCounts are the connections a Server serves, and the requests in
// flight of unprivileged callers.
type connCounts struct {
	total        int
	unprivileged int
	perPeer      map[string]int // by peerKey, unprivileged callers only

	requests        int
	requestsPerPeer map[string]int // by peerKey, unprivileged callers only
}

// admit decides whether a new connection of the caller named key (by
// peerKey) may be served, or else why not.
// A privileged caller is always admitted: the accept loop waits for a
// free slot before it accepts, and unprivileged callers never take the
// reserved ones.
func (l limits) admit(c connCounts, privileged bool, key string) (bool, string) {
	switch {
	case privileged:
		return true, ""
	case c.perPeer[key] >= l.perPeer:
		return false, fmt.Sprintf("too many connections from %s (limit %d); close some and try again", key, l.perPeer)
	case c.unprivileged >= l.max-l.reserved:
		return false, fmt.Sprintf("too many connections from unprivileged callers (limit %d); try again later", l.max-l.reserved)
	}
	return true, ""
}

// admitRequest decides whether one more request of the caller named key
// may be served now, or else why not. A refused request is answered at
// once; the connection goes on.
func (l limits) admitRequest(c connCounts, privileged bool, key string) (bool, string) {
	switch {
	case privileged:
		return true, ""
	case c.requestsPerPeer[key] >= l.requestsPerPeer:
		return false, fmt.Sprintf("too many requests in flight from %s (limit %d); wait for some to end and try again", key, l.requestsPerPeer)
	case c.requests >= l.requests:
		return false, fmt.Sprintf("too many requests in flight from unprivileged callers (limit %d); try again later", l.requests)
	}
	return true, ""
}

// peerKey names the caller that the per-caller limit counts.
func peerKey(p Peer) string {
	if p.Remote != "" {
		return "peer " + p.Remote
	}
	return fmt.Sprintf("uid %d", p.UID)
}
