package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/core/sec"
	bhost "github.com/libp2p/go-libp2p/p2p/host/basic"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/host/peerstore/pstoremem"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/gostream"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	tptu "github.com/libp2p/go-libp2p/p2p/net/upgrader"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	quicgo "github.com/quic-go/quic-go"
)

// ProtocolID is the one protocol a shepherd speaks to another.
const ProtocolID protocol.ID = "/shepherd/ctl/1"

// Config sets up a Host.
type Config struct {
	// Key is the daemon's identity.
	Key ed25519.PrivateKey
	// Listen are the multiaddrs to listen on; none: dial out only.
	Listen []string
	// PSK, when set, makes a private network (TCP only: QUIC refuses a
	// PSK, so it is left out).
	PSK []byte
	// Memory and FDs bound what all peers together may use. Zero: 64 MiB
	// (libp2p's scaling gives 128 MiB for anything up to that) and
	// Conns+256.
	Memory int64
	FDs    int
	// Conns bounds the connections open at once, to and from peers
	// (libp2p's scaling gives 128, which a fleet run to more hosts
	// than that exhausts while its connections wait to be idle); the
	// inbound ones of unknown peers keep their smaller share. Zero: 1024.
	Conns int
	// Logf receives bans of peers and addresses. Optional.
	Logf func(format string, args ...any)
	// IdleAfter closes a connection that has carried no stream for
	// that long (idle.go). Zero: DefaultIdleAfter.
	IdleAfter time.Duration
}

// Host is a daemon's libp2p presence.
type Host struct {
	h     *bhost.BasicHost
	sw    *swarm.Swarm
	quic  *quicreuse.ConnManager // nil in a private network
	ps    peerstore.Peerstore
	rm    network.ResourceManager
	gater *gater
	idle  *idle
	kept  *kept
	dials chan struct{} // connections being set up by Dial (maxDials)

	closing  sync.Once
	closeErr error
}

// New starts a host; it listens on cfg.Listen at once.
func New(cfg Config) (*Host, error) {
	key, err := crypto.UnmarshalEd25519PrivateKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if cfg.Memory == 0 {
		cfg.Memory = 64 << 20
	}
	if cfg.Conns == 0 {
		cfg.Conns = 1024
	}
	if cfg.FDs == 0 {
		cfg.FDs = cfg.Conns + 256
	}
	limits := rcmgr.DefaultLimits
	// One peer gets a few connections and streams of our protocol; the
	// whole host gets what Memory and FDs allow.
	limits.AddProtocolPeerLimit(ProtocolID, rcmgr.BaseLimit{Streams: 64, StreamsInbound: 32, StreamsOutbound: 32, Memory: 4 << 20}, rcmgr.BaseLimitIncrease{})
	// Streams that have not named their protocol yet are transient; the
	// default (128 inbound) is all that unknown peers may hold
	// (unknownConns*unknownPeerStreams), which would leave known peers
	// none.
	// A fleet run dials many hosts at once (herd's --fanout, a relay's;
	// Dial sets up maxDials at once): connections being set up are
	// transient, and libp2p's default (64) would refuse most of a large
	// run's dials.
	// Control streams kept between calls (kept.go), one per connection
	// at most, have a memory budget of their own: yamux counts a
	// stream's receive window (256 KiB) against the host's memory.
	scaled := limits.Scale(cfg.Memory, cfg.FDs)
	system := scaled.ToPartialLimitConfig().System
	system.Conns, system.ConnsOutbound = rcmgr.LimitVal(cfg.Conns), rcmgr.LimitVal(cfg.Conns)
	system.Memory += rcmgr.LimitVal64(cfg.Conns) * keptWindow
	concrete := rcmgr.PartialLimitConfig{
		System:    system,
		Transient: rcmgr.ResourceLimits{StreamsInbound: 512, Streams: 1024, ConnsOutbound: 256, Conns: 320},
	}.Build(scaled)
	g := newGater()
	if cfg.Logf != nil {
		g.logf = cfg.Logf
	}
	rm, err := rcmgr.NewResourceManager(limiter{Limiter: rcmgr.NewFixedLimiter(concrete), known: g.unbounded})
	if err != nil {
		return nil, fmt.Errorf("libp2p resource manager: %w", err)
	}
	return assemble(key, rm, g, cfg) // which closes rm on failure
}

// assemble builds the host from libp2p's parts: a swarm with TCP (and
// QUIC unless there is a PSK), Noise and yamux, and a basic host on it.
// libp2p.New and libp2p's config package link every transport and
// service libp2p knows (WebRTC, WebSocket, WebTransport, relays, hole
// punching, AutoNAT) whatever the options, and the daemon's memory grows
// with its binary, nearly all of which is resident: the daemon was 52 MB
// with libp2p.New, 45.5 MB with the config package and is 43 MB so.
func assemble(key crypto.PrivKey, rm network.ResourceManager, g *gater, cfg Config) (_ *Host, err error) {
	h := &Host{gater: g, rm: rm}
	defer func() {
		if err != nil {
			h.Close()
		}
	}()
	var psk pnet.PSK
	if len(cfg.PSK) > 0 {
		if len(cfg.PSK) != 32 {
			return nil, fmt.Errorf("private network key: %d bytes, want 32", len(cfg.PSK))
		}
		psk = pnet.PSK(cfg.PSK)
	}
	var listen []ma.Multiaddr
	for _, a := range cfg.Listen {
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			return nil, fmt.Errorf("libp2p: listen address %q: %w", a, err)
		}
		listen = append(listen, m)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	if h.ps, err = pstoremem.NewPeerstore(); err != nil {
		return nil, err
	}
	if err := h.ps.AddPrivKey(id, key); err != nil {
		return nil, err
	}
	if err := h.ps.AddPubKey(id, key.GetPublic()); err != nil {
		return nil, err
	}
	bus := eventbus.NewBus()
	// Black-hole detection (nil counters) guesses whether UDP or IPv6
	// works at all from failed dials; the addresses here come from
	// sturdyrefs, so every one is tried.
	if h.sw, err = swarm.NewSwarm(id, h.ps, bus, swarm.WithConnectionGater(g), swarm.WithResourceManager(rm),
		swarm.WithDialTimeout(5*time.Second), swarm.WithUDPBlackHoleSuccessCounter(nil), swarm.WithIPv6BlackHoleSuccessCounter(nil)); err != nil {
		return nil, fmt.Errorf("libp2p: %w", err)
	}
	security, err := noise.New(noise.ID, key, nil)
	if err != nil {
		return nil, fmt.Errorf("libp2p: %w", err)
	}
	upgrader, err := tptu.New([]sec.SecureTransport{security}, []tptu.StreamMuxer{{ID: yamux.ID, Muxer: yamux.DefaultTransport}}, psk, rm, g)
	if err != nil {
		return nil, fmt.Errorf("libp2p: %w", err)
	}
	tcpTransport, err := tcp.NewTCPTransport(upgrader, rm, nil)
	if err != nil {
		return nil, fmt.Errorf("libp2p: %w", err)
	}
	if err := h.sw.AddTransport(tcpTransport); err != nil {
		return nil, fmt.Errorf("libp2p: %w", err)
	}
	// QUIC has its own handshake and refuses a PSK, so a private network
	// is TCP only.
	if psk == nil {
		if err := h.addQUIC(key, rm, g); err != nil {
			return nil, fmt.Errorf("libp2p: %w", err)
		}
	}
	if h.h, err = bhost.NewHost(h.sw, &bhost.HostOpts{EventBus: bus, ConnManager: &connmgr.NullConnMgr{}, EnablePing: true, UserAgent: "shepherd-go"}); err != nil {
		return nil, fmt.Errorf("libp2p: %w", err)
	}
	h.sw.Notify(&network.NotifyBundle{ConnectedF: h.connected, DisconnectedF: h.disconnected})
	h.h.Start()
	if cfg.IdleAfter <= 0 {
		cfg.IdleAfter = DefaultIdleAfter
	}
	h.idle = newIdle(cfg.IdleAfter)
	go h.idle.run(h.sw)
	h.kept = newKept(cfg.Conns)
	h.dials = make(chan struct{}, maxDials)
	go h.kept.run()
	if len(listen) > 0 {
		if err := h.sw.Listen(listen...); err != nil {
			return nil, fmt.Errorf("libp2p: listen on %s: %w", strings.Join(cfg.Listen, ", "), err)
		}
	}
	return h, nil
}

// addQUIC adds the QUIC transport, its connections counted by the
// resource manager from their first packet, as libp2p's own assembly does.
func (h *Host) addQUIC(key crypto.PrivKey, rm network.ResourceManager, g *gater) error {
	raw, err := key.Raw()
	if err != nil {
		return err
	}
	// Both keys derive from the identity, as in libp2p's own assembly,
	// so that they survive a restart.
	reset, err := hkdf.Key(sha256.New, raw, nil, "libp2p quic stateless reset key", len(quicgo.StatelessResetKey{}))
	if err != nil {
		return err
	}
	token, err := hkdf.Key(sha256.New, raw, nil, "libp2p quic token generator key", len(quicgo.TokenGeneratorKey{}))
	if err != nil {
		return err
	}
	h.quic, err = quicreuse.NewConnManager(quicgo.StatelessResetKey(reset), quicgo.TokenGeneratorKey(token),
		quicreuse.ConnContext(func(ctx context.Context, info *quicgo.ClientInfo) (context.Context, error) {
			addr, err := quicreuse.ToQuicMultiaddr(info.RemoteAddr, quicgo.Version1)
			if err != nil {
				addr = nil
			}
			scope, err := rm.OpenConnection(network.DirInbound, false, addr)
			if err != nil {
				return ctx, err
			}
			ctx = network.WithConnManagementScope(ctx, scope)
			context.AfterFunc(ctx, scope.Done)
			return ctx, nil
		}),
		quicreuse.VerifySourceAddress(rm.VerifySourceAddress))
	if err != nil {
		return err
	}
	t, err := quic.NewTransport(key, h.quic, nil, g, rm)
	if err != nil {
		return err
	}
	return h.sw.AddTransport(t)
}

// ID is the host's peer ID.
func (h *Host) ID() string { return h.h.ID().String() }

// Addrs are the multiaddrs the host listens on, a wildcard (0.0.0.0, ::)
// replaced by the interfaces' addresses.
func (h *Host) Addrs() []string {
	all, err := h.h.Network().InterfaceListenAddresses()
	if err != nil {
		all = h.h.Network().ListenAddresses()
	}
	out := make([]string, 0, len(all))
	for _, a := range all {
		out = append(out, a.String())
	}
	return out
}

// Listen returns a net.Listener of incoming /shepherd/ctl/1 streams; each
// stream is a connection whose RemoteAddr().String() is the peer ID.
// Streams of unknown peers beyond their share (see gater) are reset at
// once, before anything is read from them.
func (h *Host) Listen() (net.Listener, error) {
	l := &listener{id: h.h.ID(), conns: make(chan net.Conn), done: make(chan struct{})}
	l.close = func() { h.h.RemoveStreamHandler(ProtocolID) }
	h.h.SetStreamHandler(ProtocolID, func(s network.Stream) { h.admit(l, s) })
	return l, nil
}

// admit hands an inbound stream to l's Accept, or resets it.
func (h *Host) admit(l *listener, s network.Stream) {
	ok, after := h.gater.admitStream(s)
	for _, c := range after {
		c()
	}
	if !ok {
		s.Reset()
		return
	}
	c := &streamConn{Stream: s, release: func() { h.gater.releaseStream(s) }}
	select {
	case l.conns <- c:
	case <-l.done:
		s.Reset()
		h.gater.releaseStream(s)
	}
}

// connected and disconnected keep the gater's count of connections: the
// ones this daemon dialed keep their peer's libp2p bounds; an inbound one
// of an unknown peer takes a slot of the unknown peers' share, or is
// closed.
func (h *Host) connected(_ network.Network, c network.Conn) {
	if c.Stat().Direction == network.DirOutbound {
		h.gater.dialed(c.RemotePeer(), 1)
		return
	}
	ok, after := h.gater.admitConn(c)
	for _, end := range after {
		end()
	}
	if !ok {
		c.Close()
	}
}

func (h *Host) disconnected(_ network.Network, c network.Conn) {
	if c.Stat().Direction == network.DirOutbound {
		h.gater.dialed(c.RemotePeer(), -1)
		return
	}
	h.gater.releaseConn(c)
}

// Dial opens a /shepherd/ctl/1 stream to peerID, trying addrs (multiaddrs)
// as hints.
func (h *Host) Dial(ctx context.Context, peerID string, addrs []string) (net.Conn, error) {
	id, err := peer.Decode(peerID)
	if err != nil {
		return nil, fmt.Errorf("peer %q: %w", peerID, err)
	}
	var mas []ma.Multiaddr
	for _, a := range addrs {
		if m, err := ma.NewMultiaddr(a); err == nil {
			mas = append(mas, m)
		}
	}
	if len(mas) == 0 && h.h.Network().Connectedness(id) != network.Connected {
		return nil, errors.New("no network address known (the sturdyref has none)")
	}
	h.h.Peerstore().AddAddrs(id, mas, 10*time.Minute)
	h.idle.touch(id)
	if h.h.Network().Connectedness(id) != network.Connected {
		// A handshake costs both sides milliseconds of CPU: a run's
		// fan-out in handshakes at once slows every one of them past
		// its deadline on a busy machine. Calls on connections made
		// are not held back.
		select {
		case h.dials <- struct{}{}:
			defer func() { <-h.dials }()
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting to connect: %w", ctx.Err())
		}
	}
	c, err := gostream.Dial(ctx, h.h, id, ProtocolID)
	if err != nil {
		return nil, dialError(err)
	}
	return c, nil
}

// dialError shortens libp2p's "failed to dial: failed to dial ...: all
// dials failed\n  * [addr] reason" to "addr: reason" (the last attempt).
func dialError(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, "\n"); i >= 0 {
		last := strings.TrimPrefix(strings.TrimSpace(msg[i+1:]), "* ")
		if addr, rest, ok := strings.Cut(strings.TrimPrefix(last, "["), "] "); ok {
			return fmt.Errorf("%s: %s", addr, rest)
		}
		return errors.New(last)
	}
	return err
}

// PeerInfo describes one connected peer for `herd peers`.
type PeerInfo struct {
	ID      string        `json:"id"`
	Addrs   []string      `json:"addrs"`
	Latency time.Duration `json:"latency"`
	Streams int           `json:"streams"`
}

// Peers lists the connected peers, each pinged once (up to a second) for
// its latency.
func (h *Host) Peers() []PeerInfo {
	var out []PeerInfo
	for _, id := range h.h.Network().Peers() {
		pi := PeerInfo{ID: id.String(), Latency: h.h.Peerstore().LatencyEWMA(id)}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if rtt, err := h.ping(ctx, id); err == nil {
			pi.Latency = rtt
		}
		cancel()
		for _, c := range h.h.Network().ConnsToPeer(id) {
			pi.Addrs = append(pi.Addrs, c.RemoteMultiaddr().String())
			pi.Streams += len(c.GetStreams())
		}
		out = append(out, pi)
	}
	slices.SortFunc(out, func(a, b PeerInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Refused tells the gater that peerID made a request that was refused;
// a peer refused too often is disconnected and kept out for a while, and
// so are unknown peers from an address whose unknown peers were refused
// too often.
func (h *Host) Refused(peerID string) {
	id, err := peer.Decode(peerID)
	if err != nil {
		return
	}
	var addrs []string
	for _, c := range h.h.Network().ConnsToPeer(id) {
		addrs = append(addrs, addrKey(c.RemoteMultiaddr()))
	}
	banned, after := h.gater.refused(id, addrs)
	for _, c := range after {
		c()
	}
	if banned {
		h.gater.logf("libp2p: peer %s kept out for %v: %d requests refused within %v", id, banFor, strikes, strikeSpan)
		h.h.Network().ClosePeer(id)
	}
}

// Authorized tells the gater that peerID made a request that a capability
// authorized: the peer is known from now on (for a day after its last
// such request), out of the unknown peers' shares and bans.
func (h *Host) Authorized(peerID string) {
	if id, err := peer.Decode(peerID); err == nil {
		h.gater.authorized(id)
	}
}

// Close stops the host and what it was assembled from (also a host
// whose assembly failed half-way). A second Close does nothing.
func (h *Host) Close() error {
	h.closing.Do(func() { h.closeErr = h.close() })
	return h.closeErr
}

func (h *Host) close() error {
	var errs []error
	if h.idle != nil {
		close(h.idle.stop)
		<-h.idle.done
	}
	if h.kept != nil {
		close(h.kept.stop)
		<-h.kept.done
	}
	switch {
	case h.h != nil:
		errs = append(errs, h.h.Close()) // and the swarm
	case h.sw != nil:
		errs = append(errs, h.sw.Close())
	}
	if h.quic != nil {
		errs = append(errs, h.quic.Close())
	}
	if h.ps != nil {
		errs = append(errs, h.ps.Close())
	}
	errs = append(errs, h.rm.Close())
	return errors.Join(errs...)
}

// CheckPeerID says whether s is a peer ID ("12D3KooW...").
func CheckPeerID(s string) error {
	_, err := peer.Decode(s)
	return err
}

// Ping measures the round trip to a connected peer (libp2p's ping
// protocol): liveness without a request to the daemon behind it.
func (h *Host) Ping(ctx context.Context, peerID string) (time.Duration, error) {
	id, err := peer.Decode(peerID)
	if err != nil {
		return 0, err
	}
	return h.ping(ctx, id)
}

func (h *Host) ping(ctx context.Context, id peer.ID) (time.Duration, error) {
	select {
	case r, ok := <-ping.Ping(ctx, h.h, id):
		if !ok {
			return 0, ctx.Err()
		}
		return r.RTT, r.Error
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
