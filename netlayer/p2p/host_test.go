package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func newHost(t testing.TB, listen ...string) *Host {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Key: key, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// serve answers every request with the caller's peer ID.
func serve(t *testing.T, h *Host) {
	ln, err := h.Listen()
	if err != nil {
		t.Fatal(err)
	}
	srv := &local.Server{
		Handler: local.HandlerFunc(func(ctx context.Context, p local.Peer, req wire.Request, out local.Responder) {
			out.Send(wire.OKReply(req.ID, map[string]string{"caller": p.Remote, "action": req.Action}))
		}),
		Identify: func(c net.Conn) (local.Peer, error) { return local.Peer{Remote: c.RemoteAddr().String()}, nil },
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func TestCallOverLoopbackNamesTheCaller(t *testing.T) {
	for _, proto := range []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"} {
		t.Run(proto, func(t *testing.T) {
			server, client := newHost(t, proto), newHost(t)
			serve(t, server)
			if len(server.Addrs()) == 0 || !strings.HasPrefix(server.ID(), "12D3KooW") {
				t.Fatalf("server %s listens on %v", server.ID(), server.Addrs())
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := client.Dial(ctx, server.ID(), server.Addrs())
			if err != nil {
				t.Fatal(err)
			}
			c := local.NewClient(conn)
			defer c.Close()
			rep, err := c.Call(ctx, wire.Request{Action: "status"})
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"action":"status","caller":"` + client.ID() + `"}`; string(rep.Result) != want {
				t.Errorf("reply %s, want %s", rep.Result, want)
			}
			if ps := client.Peers(); len(ps) != 1 || ps[0].ID != server.ID() || ps[0].Latency <= 0 {
				t.Errorf("client's peers: %+v", ps)
			}
		})
	}
}

func TestDialWithoutAddressOrToNobody(t *testing.T) {
	client := newHost(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gone := newHost(t, "/ip4/127.0.0.1/tcp/0")
	if _, err := client.Dial(ctx, gone.ID(), nil); err == nil || !strings.Contains(err.Error(), "no network address") {
		t.Errorf("dial without address: %v", err)
	}
	addrs := gone.Addrs()
	gone.Close()
	if _, err := client.Dial(ctx, gone.ID(), addrs); err == nil {
		t.Error("dial to a closed host succeeded")
	}
	if _, err := client.Dial(ctx, "not-a-peer", addrs); err == nil {
		t.Error("dial to a bad peer ID succeeded")
	}
}

func TestGaterKeepsOutAPeerRefusedTooOften(t *testing.T) {
	server, client := newHost(t, "/ip4/127.0.0.1/tcp/0"), newHost(t)
	serve(t, server)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.Dial(ctx, server.ID(), server.Addrs()); err != nil {
		t.Fatal(err)
	}
	for range strikes {
		server.Refused(client.ID())
	}
	// The server hangs up; once the client has noticed, it cannot come back.
	for len(client.Peers()) > 0 {
		if ctx.Err() != nil {
			t.Fatal("the banned peer is still connected")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := client.Dial(ctx, server.ID(), server.Addrs()); err == nil {
		t.Error("a banned peer connected again")
	}
	if err := CheckPeerID(client.ID()); err != nil {
		t.Error(err)
	}
}

func TestPrivateNetworkKeepsOutWhoLacksItsKey(t *testing.T) {
	psk := func(b byte) []byte {
		k := make([]byte, 32)
		for i := range k {
			k[i] = b
		}
		return k
	}
	withPSK := func(psk []byte, listen ...string) *Host {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		h, err := New(Config{Key: key, Listen: listen, PSK: psk})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		return h
	}
	server := withPSK(psk(1), "/ip4/127.0.0.1/tcp/0")
	serve(t, server)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	member := withPSK(psk(1))
	conn, err := member.Dial(ctx, server.ID(), server.Addrs())
	if err != nil {
		t.Fatalf("a member of the private network: %v", err)
	}
	conn.Close()
	for name, outsider := range map[string]*Host{"another key": withPSK(psk(2)), "no key": newHost(t)} {
		short, cancel := context.WithTimeout(ctx, 3*time.Second)
		if conn, err := outsider.Dial(short, server.ID(), server.Addrs()); err == nil {
			conn.Close()
			t.Errorf("a host with %s joined the private network", name)
		}
		cancel()
	}

	// QUIC cannot carry a PSK: a private network is TCP only, and says so.
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := New(Config{Key: key, Listen: []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, PSK: psk(1)}); err == nil || !strings.Contains(err.Error(), "listen on /ip4/127.0.0.1/udp/0/quic-v1") {
		t.Errorf("QUIC in a private network: %v", err)
	}
	if _, err := New(Config{Key: key, PSK: []byte("short")}); err == nil || !strings.Contains(err.Error(), "5 bytes, want 32") {
		t.Errorf("a 5-byte key: %v", err)
	}
}
