package p2p

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// serveCounting serves h (requests named "hang" wait for their end) and
// counts the streams it accepted.
func serveCounting(t *testing.T, h *Host, idle time.Duration) *atomic.Int32 {
	t.Helper()
	ln, err := h.Listen()
	if err != nil {
		t.Fatal(err)
	}
	var streams atomic.Int32
	srv := &local.Server{
		IdleTimeout: idle,
		Handler: local.HandlerFunc(func(ctx context.Context, p local.Peer, req wire.Request, out local.Responder) {
			if req.Action == "hang" {
				<-ctx.Done()
				return
			}
			out.Send(wire.OKReply(req.ID, req.Action))
		}),
		Identify: func(c net.Conn) (local.Peer, error) {
			streams.Add(1)
			return local.Peer{Remote: c.RemoteAddr().String()}, nil
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &streams
}

func callOnce(t *testing.T, client, server *Host, ctx context.Context, action string) error {
	t.Helper()
	c, err := client.Client(ctx, server.ID(), server.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rep, err := c.Call(ctx, wire.Request{Action: action})
	if err == nil && !rep.OK {
		t.Fatalf("%s: %v", action, rep.Error)
	}
	return err
}

// Calls one after the other to a peer go on one stream; a call that did
// not end cleanly (its caller gave up) closes its stream.
func TestKeptStreamServesTheNextCall(t *testing.T) {
	server, client := newHost(t, "/ip4/127.0.0.1/tcp/0"), newHost(t)
	streams := serveCounting(t, server, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 5 {
		if err := callOnce(t, client, server, ctx, "status"); err != nil {
			t.Fatal(err)
		}
	}
	if n := streams.Load(); n != 1 {
		t.Fatalf("5 calls took %d streams, want 1", n)
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	if err := callOnce(t, client, server, short, "hang"); err == nil {
		t.Fatal("a hung call ended without its deadline")
	}
	if err := callOnce(t, client, server, ctx, "status"); err != nil {
		t.Fatal(err)
	}
	if n := streams.Load(); n != 2 {
		t.Fatalf("after a call given up: %d streams, want 2 (the given-up one not kept)", n)
	}
}

// A kept stream the far side closed (its idle timeout) is replaced by a
// new one, and the call is answered.
func TestKeptStreamClosedByTheFarSideIsReplaced(t *testing.T) {
	server, client := newHost(t, "/ip4/127.0.0.1/tcp/0"), newHost(t)
	streams := serveCounting(t, server, 100*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := callOnce(t, client, server, ctx, "first"); err != nil {
		t.Fatal(err)
	}
	id := client.h.ID()
	for deadline := time.Now().Add(5 * time.Second); ; {
		open := 0
		for _, c := range server.h.Network().ConnsToPeer(id) {
			open += len(c.GetStreams())
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server did not close the idle stream")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := callOnce(t, client, server, ctx, "second"); err != nil {
		t.Fatalf("on a kept stream the far side closed: %v", err)
	}
	if n := streams.Load(); n != 2 {
		t.Fatalf("%d streams, want 2", n)
	}
}
