package p2p

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestIdleConnectionIsClosedAndABusyOneKept: a connection whose streams
// all ended is closed after IdleAfter (a fleet run's connections do not
// stay for the life of the daemon); one with an open stream is kept, and
// a new call after the close dials again.
func TestIdleConnectionIsClosedAndABusyOneKept(t *testing.T) {
	server := newHost(t, "/ip4/127.0.0.1/tcp/0")
	serve(t, server)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	client, err := New(Config{Key: key, IdleAfter: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call := func() *local.Client {
		conn, err := client.Dial(ctx, server.ID(), server.Addrs())
		if err != nil {
			t.Fatal(err)
		}
		c := local.NewClient(conn)
		if _, err := c.Call(ctx, wire.Request{Action: "status"}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	id, _ := peer.Decode(server.ID())
	connected := func() bool { return client.h.Network().Connectedness(id) == network.Connected }

	held := call() // a stream left open: the connection is busy
	time.Sleep(600 * time.Millisecond)
	if !connected() {
		t.Fatal("a connection with an open stream was closed as idle")
	}
	held.Close()
	for connected() {
		if ctx.Err() != nil {
			t.Fatal("an idle connection was never closed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	call().Close() // dials again
}
