package proxy

import (
	"context"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// exporterStub serves the protocol on a unix socket and counts the
// connections it was asked to serve. An action "slow" waits for release.
type exporterStub struct {
	path    string
	conns   atomic.Int32
	release chan struct{}
	srv     *local.Server
}

func newExporterStub(t *testing.T) *exporterStub {
	t.Helper()
	e := &exporterStub{path: filepath.Join(t.TempDir(), "run", "socket"), release: make(chan struct{})}
	ln, err := local.Listen(e.path, local.ListenOptions{Group: -1})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = &local.Server{
		Handler: local.HandlerFunc(func(ctx context.Context, _ local.Peer, req wire.Request, out local.Responder) {
			if req.Action == "slow" {
				select {
				case <-e.release:
				case <-ctx.Done():
				}
			}
			out.Send(wire.OKReply(req.ID, map[string]string{"action": req.Action}))
		}),
		Identify: func(c net.Conn) (local.Peer, error) {
			e.conns.Add(1)
			return local.PeerOf(c)
		},
	}
	go e.srv.Serve(ln)
	t.Cleanup(func() { e.srv.Close() })
	return e
}

func (e *exporterStub) dial(ctx context.Context) (*local.Client, error) {
	return local.Dial(ctx, e.path)
}

func callOK(t *testing.T, l *callLine, dial func(context.Context) (*local.Client, error), action string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := l.call(ctx, dial, wire.Request{Action: action})
	if err != nil || !rep.OK {
		t.Fatalf("%s: %v %+v", action, err, rep.Error)
	}
}

func TestCallLineKeepsOneConnection(t *testing.T) {
	e := newExporterStub(t)
	l := &callLine{}
	defer l.drop()
	for range 5 {
		callOK(t, l, e.dial, "status")
	}
	if n := e.conns.Load(); n != 1 {
		t.Errorf("5 calls took %d connections, want 1", n)
	}
}

func TestCallLineGivesABusyLinesCallItsOwnConnection(t *testing.T) {
	e := newExporterStub(t)
	l := &callLine{}
	defer l.drop()
	slow := make(chan error, 1)
	go func() {
		_, err := l.call(context.Background(), e.dial, wire.Request{Action: "slow"})
		slow <- err
	}()
	// The slow call holds the line from before it dials until its answer.
	deadline := time.Now().Add(10 * time.Second)
	for e.conns.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow call never took the line")
		}
		time.Sleep(time.Millisecond)
	}
	callOK(t, l, e.dial, "status") // not behind the slow call
	close(e.release)
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
	callOK(t, l, e.dial, "status")
	if n := e.conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2: the line's and the one of the call made while it was busy", n)
	}
}

func TestCallLineReplacesAnIdleConnection(t *testing.T) {
	e := newExporterStub(t)
	l := &callLine{}
	defer l.drop()
	callOK(t, l, e.dial, "status")
	l.mu.Lock()
	l.used = time.Now().Add(-callLineIdle - time.Second)
	l.mu.Unlock()
	callOK(t, l, e.dial, "status")
	if n := e.conns.Load(); n != 2 {
		t.Errorf("%d connections, want a new one after the line rested", n)
	}
}

// An exporter that went away and came back: the kept connection is dead,
// the request could not be written, and it goes out once on a new one.
func TestCallLineSendsAgainWhatCouldNotBeSent(t *testing.T) {
	first, second := newExporterStub(t), newExporterStub(t)
	current := first
	dial := func(ctx context.Context) (*local.Client, error) { return current.dial(ctx) }
	l := &callLine{}
	defer l.drop()
	callOK(t, l, dial, "status")
	first.srv.Close()
	current = second
	callOK(t, l, dial, "start")
	if n := second.conns.Load(); n != 1 {
		t.Errorf("the second exporter served %d connections, want 1", n)
	}
	callOK(t, l, dial, "status")
	if n := second.conns.Load(); n != 1 {
		t.Errorf("the new connection was not kept: %d connections", n)
	}
}
