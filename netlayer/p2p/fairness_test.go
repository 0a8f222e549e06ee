package p2p

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// The hostile peers of these tests hold streams on the daemon's libp2p
// host from many fresh identities and from one or many addresses; a peer
// that holds a capability, and a new one that presents one, must still be
// answered within a remote call's deadline (docs/network.md, "Limits").

// validCap is the one capability capServer honours.
const validCap = "the-capability"

// capServer listens on 127.0.0.1 (TCP and QUIC) and serves as the daemon
// does: a request that presents validCap is authorized (Host.Authorized)
// and answered, any other is refused (Host.Refused).
func capServer(t testing.TB) *Host {
	t.Helper()
	h := newHost(t, "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1")
	ln, err := h.Listen()
	if err != nil {
		t.Fatal(err)
	}
	srv := &local.Server{
		Handler: local.HandlerFunc(func(ctx context.Context, p local.Peer, req wire.Request, out local.Responder) {
			if req.Cap != validCap {
				h.Refused(p.Remote)
				out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied")))
				return
			}
			h.Authorized(p.Remote)
			out.Send(wire.OKReply(req.ID, map[string]string{"caller": p.Remote}))
		}),
		Identify: func(c net.Conn) (local.Peer, error) { return local.Peer{Remote: c.RemoteAddr().String()}, nil },
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return h
}

// via says how a test peer reaches the server: over TCP from an address
// of its own (it listens there, and libp2p's TCP dials from the address
// it listens on), or over QUIC, from 127.0.0.1 (QUIC dials from the
// address the route to the server names).
type via struct {
	listen []string
	proto  string // what the server's addresses it dials contain
}

func tcpFrom(ip string) via { return via{listen: []string{"/ip4/" + ip + "/tcp/0"}, proto: "/tcp/"} }

var quicFromLoopback = via{proto: "/quic-v1"}

// addrs are server's addresses that v dials.
func (v via) addrs(server *Host) []string {
	var out []string
	for _, a := range server.Addrs() {
		if strings.Contains(a, v.proto) {
			out = append(out, a)
		}
	}
	return out
}

// peerAt is a host with a fresh identity that reaches servers via v.
func peerAt(t testing.TB, v via) *Host {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Key: key, Listen: v.listen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// ask makes one call to server via v presenting cap, on a new stream,
// within a remote call's deadline (actors' remoteCallTimeout).
func ask(client *Host, v via, server *Host, cap string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := client.Dial(ctx, server.ID(), v.addrs(server))
	if err != nil {
		return err
	}
	c := local.NewClient(conn)
	defer c.Close()
	rep, err := c.Call(ctx, wire.Request{Action: "status", Cap: cap})
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("%s: %s", rep.Error.Kind, rep.Error.Message)
	}
	return nil
}

// hostile is a peer without a capability that opens streams and holds
// them.
type hostile struct {
	*Host
	server peer.ID
	held   []network.Stream
}

func newHostile(t testing.TB, v via, server *Host) *hostile {
	h := &hostile{Host: peerAt(t, v)}
	h.server, _ = peer.Decode(server.ID())
	for _, a := range v.addrs(server) {
		h.h.Peerstore().AddAddr(h.server, ma.StringCast(a), time.Hour)
	}
	return h
}

// connect connects to the server (the server may close it at once).
func (h *hostile) connect(ctx context.Context) error {
	return h.h.Connect(ctx, peer.AddrInfo{ID: h.server})
}

// hold opens a /shepherd/ctl/1 stream, sends a line that is no request,
// and keeps the stream once the server answers it (with bad-request: a
// stream the server holds). It does not dial: a peer whose connection was
// closed holds nothing more.
func (h *hostile) hold(ctx context.Context) error {
	s, err := h.h.NewStream(network.WithNoDial(ctx, "hold"), h.server, ProtocolID)
	if err != nil {
		return err
	}
	s.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := s.Write([]byte("x\n")); err != nil {
		s.Reset()
		return err
	}
	line, err := bufio.NewReader(s).ReadString('\n')
	if err != nil {
		s.Reset()
		return err
	}
	if !strings.Contains(line, string(wire.BadRequest)) {
		s.Reset()
		return fmt.Errorf("the server answered %q", line)
	}
	s.SetDeadline(time.Time{})
	h.held = append(h.held, s)
	return nil
}

// holdRaw opens a stream that never names its protocol, and keeps it.
func (h *hostile) holdRaw(ctx context.Context) error {
	s, err := h.h.Network().NewStream(network.WithNoDial(ctx, "hold"), h.server)
	if err != nil {
		return err
	}
	h.held = append(h.held, s)
	return nil
}

// attack has each peer connect, then open ctl streams of
// /shepherd/ctl/1 and raw ones that never name a protocol, and hold them.
func attack(t *testing.T, peers []*hostile, ctl, raw int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, h := range peers {
		wg.Go(func() { h.connect(ctx) })
	}
	wg.Wait()
	var opened atomic.Int64
	for _, h := range peers {
		wg.Go(func() {
			for range ctl {
				if h.hold(ctx) == nil {
					opened.Add(1)
				}
			}
			for range raw {
				h.holdRaw(ctx)
			}
		})
	}
	wg.Wait()
	t.Logf("%d hostile peers had %d streams of /shepherd/ctl/1 answered", len(peers), opened.Load())
}

// knownPeer is a peer that holds the capability and has used it.
func knownPeer(t testing.TB, v via, server *Host) *Host {
	t.Helper()
	k := peerAt(t, v)
	if err := ask(k, v, server, validCap); err != nil {
		t.Fatalf("the capability holder before the attack: %v", err)
	}
	return k
}

// reconnect drops client's connections to server: its next call needs a
// new connection.
func reconnect(client, server *Host) {
	id, _ := peer.Decode(server.ID())
	client.h.Network().ClosePeer(id)
}

// waitUsage waits until unknown peers hold what cond wants of server.
func waitUsage(t *testing.T, server *Host, what string, cond func(conns, streams int) bool) {
	t.Helper()
	end := time.Now().Add(30 * time.Second)
	for {
		c, s := server.gater.usage()
		if cond(c, s) {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("unknown peers hold %d connections and %d streams; waited for %s", c, s, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestManyAddressesCannotStarveCapabilityHolders: fresh identities, each
// from its own address, open streams and hold them: first 24 that open as
// many as libp2p's bounds allowed before (32 of /shepherd/ctl/1 and 16
// that name no protocol), then 24 that open what an unknown peer may hold.
// Unknown peers then hold all their share and no more; a peer that holds a
// capability is answered, on its connection and on a new one, and so is a
// new peer presenting a capability from another address: it takes a slot
// from the attack.
func TestManyAddressesCannotStarveCapabilityHolders(t *testing.T) {
	server := capServer(t)
	knownAt := tcpFrom("127.0.0.4")
	known := knownPeer(t, knownAt, server)
	var greedy, careful []*hostile
	for i := range 24 {
		greedy = append(greedy, newHostile(t, tcpFrom(fmt.Sprintf("127.0.1.%d", i+1)), server))
		careful = append(careful, newHostile(t, tcpFrom(fmt.Sprintf("127.0.2.%d", i+1)), server))
	}
	attack(t, greedy, 32, 16)
	attack(t, careful, unknownStreamsPerPeer, unknownPeerStreams-unknownStreamsPerPeer-2)
	waitUsage(t, server, "the unknown peers' shares to be full", func(c, s int) bool { return c == unknownConns && s == unknownStreams })

	if err := ask(known, knownAt, server, validCap); err != nil {
		t.Errorf("the capability holder during the attack: %v", err)
	}
	reconnect(known, server)
	if err := ask(known, knownAt, server, validCap); err != nil {
		t.Errorf("the capability holder on a new connection during the attack: %v", err)
	}
	for _, ip := range []string{"127.0.0.5", "127.0.0.6"} {
		if err := ask(peerAt(t, tcpFrom(ip)), tcpFrom(ip), server, validCap); err != nil {
			t.Errorf("a new peer with a capability from %s during the attack: %v", ip, err)
		}
	}
	if c, s := server.gater.usage(); c > unknownConns || s > unknownStreams {
		t.Errorf("unknown peers hold %d connections and %d streams, more than %d and %d", c, s, unknownConns, unknownStreams)
	}
}

// TestFreshIdentitiesCannotTakeEveryStream is the attack that took every
// stream of the host: 48 fresh identities over QUIC (which reserves no
// memory per stream, so libp2p's stream bounds are all there is), each
// opening 32 streams of /shepherd/ctl/1 and holding them, all from
// 127.0.0.1. A peer holding a capability on that same address is still
// answered, on its connection and on a new one, and so is a new peer
// presenting a capability from another address.
func TestFreshIdentitiesCannotTakeEveryStream(t *testing.T) {
	server := capServer(t)
	known := knownPeer(t, quicFromLoopback, server)
	var peers []*hostile
	for range 48 {
		peers = append(peers, newHostile(t, quicFromLoopback, server))
	}
	attack(t, peers, 32, 0)

	if err := ask(known, quicFromLoopback, server, validCap); err != nil {
		t.Errorf("the capability holder during the attack: %v", err)
	}
	reconnect(known, server)
	if err := ask(known, quicFromLoopback, server, validCap); err != nil {
		t.Errorf("the capability holder on a new connection during the attack: %v", err)
	}
	newcomer := tcpFrom("127.0.0.5")
	if err := ask(peerAt(t, newcomer), newcomer, server, validCap); err != nil {
		t.Errorf("a new peer with a capability from another address during the attack: %v", err)
	}
	if c, s := server.gater.usage(); c > unknownConns || s > unknownStreams {
		t.Errorf("unknown peers hold %d connections and %d streams, more than %d and %d", c, s, unknownConns, unknownStreams)
	}
}

// TestNewKeysDoNotEvadeTheBan: a peer that guesses capabilities is banned
// after strikes refusals; one that takes a new key before that gets its
// address closed to unknown peers after addrStrikes, whatever its keys.
// A peer known on that address is still answered, and a new peer from
// another address; a new peer from the banned address is not.
func TestNewKeysDoNotEvadeTheBan(t *testing.T) {
	server := capServer(t)
	at := tcpFrom("127.0.0.2")
	known := knownPeer(t, at, server)
	guesses, shutOut := 0, false
	for range 2 * addrStrikes / (strikes - 1) {
		guesser := peerAt(t, at)
		for range strikes - 1 {
			err := ask(guesser, at, server, "a-guess")
			if err == nil || !strings.Contains(err.Error(), string(wire.PermissionDenied)) {
				shutOut = true
				break
			}
			guesses++
		}
		guesser.Close()
		if shutOut {
			break
		}
	}
	if !shutOut {
		t.Fatalf("%d guesses with new keys, all answered", guesses)
	}
	t.Logf("shut out after %d guesses", guesses)

	reconnect(known, server)
	if err := ask(known, at, server, validCap); err != nil {
		t.Errorf("the capability holder on the banned address: %v", err)
	}
	other := tcpFrom("127.0.0.3")
	if err := ask(peerAt(t, other), other, server, validCap); err != nil {
		t.Errorf("a new peer with a capability from another address: %v", err)
	}
	if err := ask(peerAt(t, at), at, server, validCap); err == nil {
		t.Errorf("a new peer from the banned address was answered")
	}
}

// FuzzHostilePeers drives one server with random sequences of what peers
// without a capability may do, from six identities on two addresses (one
// shared with a peer that holds a capability): connect, hold a stream of
// /shepherd/ctl/1 or one that names no protocol, let one go, guess a
// capability, disconnect. After each sequence the capability holder is
// answered, and so is a new peer presenting a capability from an address
// of its own, and the unknown peers' shares keep their bounds.
func FuzzHostilePeers(f *testing.F) {
	// A byte b is an op of peer b%6: b/6%6 is 0 hold, 1 connect, 2 let a
	// stream go, 3 guess, 4 hold a raw stream, 5 disconnect.
	seq := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	everyone := func(op byte) []byte { return []byte{6 * op, 6*op + 1, 6*op + 2, 6*op + 3, 6*op + 4, 6*op + 5} }
	f.Add(seq(everyone(1), bytes.Repeat(everyone(0), 10)))
	f.Add(seq(everyone(1), bytes.Repeat(everyone(3), 10)))
	f.Add(seq(everyone(1), bytes.Repeat(everyone(4), 3), bytes.Repeat(everyone(0), 9), everyone(2), everyone(0)))
	f.Add(seq(everyone(1), bytes.Repeat(everyone(0), 8), everyone(5), everyone(1), bytes.Repeat(everyone(0), 8)))
	f.Add([]byte{6, 0, 24, 30, 6, 0, 24, 30, 12, 13, 6, 7, 0, 1, 30, 31})
	server := capServer(f)
	shared := tcpFrom("127.0.3.1")
	known := knownPeer(f, shared, server)
	newcomers := 0
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 128 {
			ops = ops[:128]
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var peers []*hostile
		for i := range 6 {
			p := newHostile(t, tcpFrom(fmt.Sprintf("127.0.3.%d", 1+i%2)), server)
			defer p.Close()
			peers = append(peers, p)
		}
		for _, b := range ops {
			p := peers[int(b)%len(peers)]
			switch b / 6 % 6 {
			case 0:
				p.hold(ctx)
			case 1:
				p.connect(ctx)
			case 2:
				if len(p.held) > 0 {
					p.held[0].Close()
					p.held = p.held[1:]
				}
			case 3:
				ask(p.Host, shared, server, "a-guess")
			case 4:
				p.holdRaw(ctx)
			case 5:
				p.h.Network().ClosePeer(p.server)
			}
		}
		if err := ask(known, shared, server, validCap); err != nil {
			t.Errorf("the capability holder after %v: %v", ops, err)
		}
		newcomers++
		at := tcpFrom(fmt.Sprintf("127.4.%d.%d", newcomers/250, 1+newcomers%250))
		if err := ask(peerAt(t, at), at, server, validCap); err != nil {
			t.Errorf("a new peer with a capability after %v: %v", ops, err)
		}
		server.gater.mu.Lock()
		defer server.gater.mu.Unlock()
		checkShare(t, &server.gater.conns)
		checkShare(t, &server.gater.streams)
	})
}
