package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// countConns serves h and counts the connections made to it.
func countConns(t *testing.T, h Handler, idle time.Duration) (string, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	path := serveServer(t, &Server{Handler: h, IdleTimeout: idle, Identify: func(c net.Conn) (Peer, error) {
		n.Add(1)
		return PeerOf(c)
	}})
	return path, &n
}

// One connection carries more requests at once than a caller may hold
// connections (DefaultMaxConnsPerPeer), each answered to its own caller.
func TestMuxCarriesManyRequestsOnOneConnection(t *testing.T) {
	const n = 3 * DefaultMaxConnsPerPeer
	var inFlight atomic.Int32
	all := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, _ Peer, req wire.Request, out Responder) {
		if inFlight.Add(1) == n {
			close(all)
		}
		select { // every request waits until all are in flight together
		case <-all:
		case <-ctx.Done():
			return
		}
		out.Send(wire.OKReply(req.ID, req.Args[0]))
	})
	path, conns := countConns(t, h, 0)
	m := NewMux(path)
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			want := fmt.Sprintf("host%d", i)
			rep, err := m.Call(ctx, wire.Request{Action: "exec", Args: []string{want}})
			var got string
			if err == nil {
				err = jsonInto(rep, &got)
			}
			if err == nil && got != want {
				err = fmt.Errorf("request %s got the answer of %s", want, got)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if c := conns.Load(); c != 1 {
		t.Fatalf("%d requests made %d connections, want 1", n, c)
	}
}

// A caller that gives up gets its context's error; the others on the
// same connection are answered.
func TestMuxCallerGivesUpAlone(t *testing.T) {
	h := HandlerFunc(func(ctx context.Context, _ Peer, req wire.Request, out Responder) {
		if req.Action == "hang" {
			<-ctx.Done()
			return
		}
		out.Send(wire.OKReply(req.ID, req.Action))
	})
	path, _ := countConns(t, h, 0)
	m := NewMux(path)
	defer m.Close()
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := m.Call(short, wire.Request{Action: "hang"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a hung request: %v, want its deadline", err)
	}
	rep, err := m.Call(context.Background(), wire.Request{Action: "ping"})
	if err != nil || !rep.OK {
		t.Fatalf("after a caller gave up: %+v %v", rep, err)
	}
}

// A connection the daemon closed as idle is made again for the next
// request, which is answered.
func TestMuxRedialsAfterTheDaemonClosedIt(t *testing.T) {
	path, conns := countConns(t, echo, 100*time.Millisecond)
	m := NewMux(path)
	defer m.Close()
	ctx := context.Background()
	if _, err := m.Call(ctx, wire.Request{Action: "one"}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the daemon closes the idle connection", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.cur.mu.Lock()
		defer m.cur.mu.Unlock()
		return m.cur.err != nil
	})
	rep, err := m.Call(ctx, wire.Request{Action: "two"})
	if err != nil || !rep.OK {
		t.Fatalf("after the idle close: %+v %v", rep, err)
	}
	if c := conns.Load(); c != 2 {
		t.Fatalf("%d connections, want 2", c)
	}
}

// A socket nobody serves is a DialError, as with Dial.
func TestMuxDialError(t *testing.T) {
	m := NewMux(t.TempDir() + "/nothing")
	_, err := m.Call(context.Background(), wire.Request{Action: "ping"})
	if _, ok := errors.AsType[*DialError](err); !ok {
		t.Fatalf("err = %v, want a DialError", err)
	}
}

func jsonInto(rep wire.Reply, v any) error {
	if !rep.OK {
		return rep.Error
	}
	return json.Unmarshal(rep.Result, v)
}

// A call whose context ends is cancelled at the daemon at once (its
// handler's context ends, with the client's cancel as the cause), and
// the connection goes on serving the other calls.
func TestMuxCancelsAtTheDaemon(t *testing.T) {
	causes, arrived := make(chan error, 1), make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, _ Peer, req wire.Request, out Responder) {
		if req.Action == "hang" {
			close(arrived)
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return
		}
		out.Send(wire.OKReply(req.ID, "ok"))
	})
	path, conns := countConns(t, h, 0)
	m := NewMux(path)
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := m.Call(ctx, wire.Request{Action: "hang"})
		done <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the daemon")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled call returned %v", err)
	}
	select {
	case cause := <-causes:
		if !errors.Is(cause, errCancelled) {
			t.Fatalf("the daemon's request ended with %v, want the client's cancel", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon went on with a request its client gave up on")
	}
	rep, err := m.Call(context.Background(), wire.Request{Action: "status"})
	if err != nil || !rep.OK || conns.Load() != 1 {
		t.Fatalf("after the cancel: %+v %v, %d connections (want 1)", rep, err, conns.Load())
	}
}

// A cancel names one request of its own connection; anything else is a
// bad request, and a cancel of a request that ended is answered ok.
func TestCancelFrames(t *testing.T) {
	path := serve(t, echo, time.Minute)
	c, r := rawConn(t, path)
	for _, tt := range []struct{ frame, want string }{
		{`{"id":1,"action":"cancel"}`, "bad-request"},
		{`{"id":2,"action":"cancel","args":["x"]}`, "bad-request"},
		{`{"id":3,"action":"cancel","args":["1","2"]}`, "bad-request"},
		{`{"id":4,"action":"cancel","args":["99"]}`, "ok"},
	} {
		c.Write([]byte(tt.frame + "\n"))
		rep := readReply(t, r)
		got := "ok"
		if !rep.OK {
			got = string(rep.Error.Kind)
		}
		if got != tt.want {
			t.Fatalf("%s: %+v, want %s", tt.frame, rep, tt.want)
		}
	}
}
