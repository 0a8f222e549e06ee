package p2p

import (
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	ma "github.com/multiformats/go-multiaddr"
)

// What a peer may cost (docs/network.md, "Limits"). A peer is known once
// one of its requests was authorized by a capability (Host.Authorized), for
// knownFor after the last one. Known peers get libp2p's per-peer bounds
// and the whole host; unknown peers share small pools, evicted fairly by
// address (see share), and are banned by address too, since new keys cost
// nothing. A peer this daemon dialed (one its own sturdyrefs named) also
// keeps libp2p's per-peer bounds while connected, which its streams need,
// but not the rest: a local user could have the daemon dial anyone. Known peers are never banned or
// evicted because of what other peers, even on their address, did.
const (
	// A peer refused this often within strikeSpan is kept out for banFor
	// (known or not: it did it itself).
	strikes    = 20
	strikeSpan = time.Minute
	banFor     = 10 * time.Minute
	// An address from which unknown peers were refused, turned away or
	// evicted this often within strikeSpan is closed to unknown peers for
	// banFor. Refused requests and pressure on the pools count alike.
	addrStrikes = 100

	knownFor = 24 * time.Hour
	maxKnown = 4096

	// Inbound connections of unknown peers, after the handshake. Per
	// address, half of what libp2p admits from an IPv4 address (8, before
	// and after the handshake), so that a known peer behind the same
	// address still gets in.
	unknownConns        = 8
	unknownConnsPerAddr = 4
	unknownConnsPerPeer = 2
	// Inbound /shepherd/ctl/1 streams of unknown peers.
	unknownStreams        = 32
	unknownStreamsPerPeer = 8
	// libp2p's bounds for one unknown peer: inbound streams of any
	// protocol, negotiated or not (so that streams that never name a
	// protocol cannot fill the transient scope), and memory. yamux
	// reserves 256 KiB for each stream as it arrives, before libp2p counts
	// it, and closes the connection when that fails: an unknown peer that
	// opens more than about 30 streams at once is disconnected.
	// unknownConns of them reserve at most half of the host's memory
	// (128 MiB).
	unknownPeerStreams = 16
	unknownPeerMemory  = 8 << 20

	// Strike and ban tables are swept of what expired once they are this
	// long (or twice what the last sweep kept): fresh identities cost a
	// few bytes each for strikeSpan or banFor.
	sweepAt = 1024
)

// gater keeps out peers and addresses that were refused too often, and
// divides what unknown peers may hold. Everything else is allowed; the
// resource manager bounds the rest.
//
// Lock order: mu, then known's (a leaf). Nothing in libp2p, nor logf, is
// called with mu held: methods return what the caller must do after (close
// what was displaced or banned, log a ban).
type gater struct {
	now   func() time.Time
	logf  func(format string, args ...any)
	known knownSet

	mu      sync.Mutex
	peers   strikeBook[peer.ID]   // guarded by mu
	addrs   strikeBook[string]    // guarded by mu
	conns   share[network.Conn]   // guarded by mu
	streams share[network.Stream] // guarded by mu
}

func newGater() *gater {
	return &gater{
		now:     time.Now,
		logf:    func(string, ...any) {},
		known:   knownSet{until: map[peer.ID]time.Time{}, dialed: map[peer.ID]int{}},
		peers:   newStrikeBook[peer.ID](strikes),
		addrs:   newStrikeBook[string](addrStrikes),
		conns:   newShare[network.Conn](unknownConns, unknownConnsPerAddr, unknownConnsPerPeer),
		streams: newShare[network.Stream](unknownStreams, unknownStreams, unknownStreamsPerPeer),
	}
}

// unbounded says whether id gets libp2p's per-peer bounds: it is known,
// or this daemon dialed it.
func (g *gater) unbounded(id peer.ID) bool { return g.known.unbounded(id, g.now()) }

// refused counts a refused request of peer id, from addrs (its
// connections'). banned: the peer is banned now; after ends the unknown
// peers' connections from an address banned now.
func (g *gater) refused(id peer.ID, addrs []string) (banned bool, after []func()) {
	now := g.now()
	known := g.known.has(id, now)
	g.mu.Lock()
	defer g.mu.Unlock()
	banned = g.peers.strike(id, now)
	if !known {
		for _, a := range slices.Compact(slices.Sorted(slices.Values(addrs))) {
			after = append(after, g.strikeAddrLocked(a, now)...)
		}
	}
	return banned, after
}

// strikeAddrLocked counts a strike against addr; once it is banned, its
// unknown peers' connections are dropped from the pool and returned to be
// closed, with the log line that says so.
func (g *gater) strikeAddrLocked(addr string, now time.Time) []func() {
	if !g.addrs.strike(addr, now) {
		return nil
	}
	out := []func(){func() {
		g.logf("libp2p: address %s closed to peers without a capability for %v: %d refusals or streams and connections over their share within %v",
			addr, banFor, addrStrikes, strikeSpan)
	}}
	for _, s := range g.conns.drop(addr) {
		out = append(out, s.close)
	}
	for _, s := range g.streams.drop(addr) {
		out = append(out, s.close)
	}
	return out
}

// authorized makes id known; what it holds leaves the unknown pools.
func (g *gater) authorized(id peer.ID) {
	if !g.known.authorize(id, g.now()) {
		return
	}
	g.promote(id)
}

// dialed counts a connection this daemon dialed to id (delta 1) or its end
// (-1).
func (g *gater) dialed(id peer.ID, delta int) { g.known.dial(id, delta) }

func (g *gater) promote(id peer.ID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conns.promote(id)
	g.streams.promote(id)
}

// admitConn decides on an inbound connection, once its peer is
// authenticated. ok false: close it. after ends what it displaced (an
// evicted connection, and those of an address banned now).
func (g *gater) admitConn(c network.Conn) (ok bool, after []func()) {
	addr, id := addrKey(c.RemoteMultiaddr()), c.RemotePeer()
	g.mu.Lock()
	defer g.mu.Unlock()
	return admitLocked(g, &g.conns, c, addr, id, func() { c.Close() })
}

// admitStream decides on an inbound /shepherd/ctl/1 stream.
func (g *gater) admitStream(s network.Stream) (ok bool, after []func()) {
	addr, id := addrKey(s.Conn().RemoteMultiaddr()), s.Conn().RemotePeer()
	g.mu.Lock()
	defer g.mu.Unlock()
	return admitLocked(g, &g.streams, s, addr, id, func() { s.Reset() })
}

// admitLocked is admitConn's and admitStream's: a known peer's key is
// not counted; a newcomer turned away, and a slot evicted, each count a
// strike against its address. Knowing is checked under mu, so that a peer
// promoted meanwhile (authorized, then promote) leaves no slot behind.
func admitLocked[K comparable](g *gater, sh *share[K], key K, addr string, id peer.ID, close func()) (bool, []func()) {
	now := g.now()
	if g.known.has(id, now) {
		return true, nil
	}
	ok, evicted := sh.admit(key, addr, id, close)
	var after []func()
	if evicted != nil {
		after = append(after, evicted.close)
		after = append(after, g.strikeAddrLocked(evicted.addr, now)...)
	}
	if !ok {
		after = append(after, g.strikeAddrLocked(addr, now)...)
	}
	return ok, after
}

func (g *gater) releaseConn(c network.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.conns.release(c)
}

func (g *gater) releaseStream(s network.Stream) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.streams.release(s)
}

// usage is how many connections and streams unknown peers hold.
func (g *gater) usage() (conns, streams int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns.slots), len(g.streams.slots)
}

// allowed says whether peer id may connect from addr: not if it is banned,
// nor if it is unknown and addr is.
func (g *gater) allowed(id peer.ID, addr string) bool {
	now := g.now()
	known := g.known.has(id, now)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.peers.banned(id, now) {
		return false
	}
	return known || addr == "" || !g.addrs.banned(addr, now)
}

func (g *gater) InterceptPeerDial(id peer.ID) bool                               { return true }
func (g *gater) InterceptAddrDial(peer.ID, ma.Multiaddr) bool                    { return true }
func (g *gater) InterceptAccept(network.ConnMultiaddrs) bool                     { return true }
func (g *gater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
func (g *gater) InterceptSecured(dir network.Direction, id peer.ID, cm network.ConnMultiaddrs) bool {
	addr := ""
	if dir == network.DirInbound {
		addr = addrKey(cm.RemoteMultiaddr())
	}
	return g.allowed(id, addr)
}

// strikeBook counts strikes per key within strikeSpan; limit strikes ban
// the key for banFor.
type strikeBook[K comparable] struct {
	limit int
	times map[K][]time.Time
	until map[K]time.Time
	// sweepAt is the size of times and until at which they are swept
	// next: twice what the last sweep kept, so that a flood of fresh
	// keys costs amortized constant time per strike.
	sweepAt int
}

func newStrikeBook[K comparable](limit int) strikeBook[K] {
	return strikeBook[K]{limit: limit, times: map[K][]time.Time{}, until: map[K]time.Time{}, sweepAt: sweepAt}
}

// strike counts one against k; it reports whether k is banned from now
// on (false if it was already).
func (b *strikeBook[K]) strike(k K, now time.Time) bool {
	if b.banned(k, now) {
		return false
	}
	if len(b.times)+len(b.until) >= b.sweepAt {
		b.sweep(now)
		b.sweepAt = max(sweepAt, 2*(len(b.times)+len(b.until)))
	}
	s := slices.DeleteFunc(b.times[k], func(t time.Time) bool { return now.Sub(t) > strikeSpan })
	s = append(s, now)
	if len(s) >= b.limit {
		b.until[k] = now.Add(banFor)
		delete(b.times, k)
		return true
	}
	b.times[k] = s
	return false
}

func (b *strikeBook[K]) banned(k K, now time.Time) bool {
	until, ok := b.until[k]
	if ok && !now.Before(until) {
		delete(b.until, k)
		return false
	}
	return ok
}

// sweep forgets strikes older than strikeSpan and bans that ended.
func (b *strikeBook[K]) sweep(now time.Time) {
	for k, s := range b.times {
		if now.Sub(s[len(s)-1]) > strikeSpan {
			delete(b.times, k)
		}
	}
	for k, until := range b.until {
		if !now.Before(until) {
			delete(b.until, k)
		}
	}
}

// knownSet is who is known: peers authorized within knownFor (at most
// maxKnown, the least recently authorized forgotten first); and the peers
// this daemon is connected to by its own dial. Its lock is a leaf: the
// resource manager asks under its own locks.
type knownSet struct {
	mu     sync.Mutex
	until  map[peer.ID]time.Time // guarded by mu
	dialed map[peer.ID]int       // guarded by mu
}

func (k *knownSet) has(id peer.ID, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return now.Before(k.until[id])
}

func (k *knownSet) unbounded(id peer.ID, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.dialed[id] > 0 || now.Before(k.until[id])
}

// authorize makes id known until now+knownFor; it reports whether id was
// unknown before.
func (k *knownSet) authorize(id peer.ID, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	fresh := !now.Before(k.until[id])
	if _, ok := k.until[id]; !ok && len(k.until) >= maxKnown {
		k.forgetLocked(now)
	}
	k.until[id] = now.Add(knownFor)
	return fresh
}

// forgetLocked makes room: it drops the expired, or else the least
// recently authorized.
func (k *knownSet) forgetLocked(now time.Time) {
	var oldest peer.ID
	var first time.Time
	for id, until := range k.until {
		if !now.Before(until) {
			delete(k.until, id)
			continue
		}
		if first.IsZero() || until.Before(first) {
			oldest, first = id, until
		}
	}
	if len(k.until) >= maxKnown {
		delete(k.until, oldest)
	}
}

// dial counts connections dialed to id.
func (k *knownSet) dial(id peer.ID, delta int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if n := k.dialed[id] + delta; n > 0 {
		k.dialed[id] = n
	} else {
		delete(k.dialed, id)
	}
}

// limiter gives unknown peers smaller per-peer bounds than libp2p's
// defaults, which known peers and peers this daemon dialed keep. The bound
// is looked up at every reservation, so a peer's limits change the moment
// it becomes known.
type limiter struct {
	rcmgr.Limiter
	known func(peer.ID) bool
}

// unknownPeerLimit bounds one unknown peer; what it does not name (zero)
// is the default's.
var unknownPeerLimit = rcmgr.BaseLimit{StreamsInbound: unknownPeerStreams, ConnsInbound: unknownConnsPerPeer, Memory: unknownPeerMemory}

func (l limiter) GetPeerLimits(p peer.ID) rcmgr.Limit {
	return peerLimit{Limit: l.Limiter.GetPeerLimits(p), id: p, known: l.known}
}

type peerLimit struct {
	rcmgr.Limit // a known peer's
	id          peer.ID
	known       func(peer.ID) bool
}

func (l peerLimit) GetMemoryLimit() int64 {
	if l.known(l.id) {
		return l.Limit.GetMemoryLimit()
	}
	return min(l.Limit.GetMemoryLimit(), unknownPeerLimit.GetMemoryLimit())
}

func (l peerLimit) GetStreamLimit(dir network.Direction) int {
	if dir == network.DirInbound && !l.known(l.id) {
		return min(l.Limit.GetStreamLimit(dir), unknownPeerLimit.GetStreamLimit(dir))
	}
	return l.Limit.GetStreamLimit(dir)
}

func (l peerLimit) GetConnLimit(dir network.Direction) int {
	if dir == network.DirInbound && !l.known(l.id) {
		return min(l.Limit.GetConnLimit(dir), unknownPeerLimit.GetConnLimit(dir))
	}
	return l.Limit.GetConnLimit(dir)
}
