package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// named answers every request with the server's name; "follow" streams
// until cancelled, "slow" waits for release.
func named(name string, release <-chan struct{}) Handler {
	return HandlerFunc(func(ctx context.Context, peer Peer, req wire.Request, out Responder) {
		switch req.Action {
		case "follow":
			out.Send(wire.Reply{ID: req.ID, OK: true, More: true})
			<-ctx.Done()
			return
		case "slow":
			<-release
		}
		out.Send(wire.OKReply(req.ID, map[string]string{"server": name}))
	})
}

func servedBy(t *testing.T, r *bufio.Reader, id uint64) string {
	t.Helper()
	rep := readReply(t, r)
	if !rep.OK || rep.ID != id {
		t.Fatalf("reply %+v, want an answer to %d", rep, id)
	}
	var res struct{ Server string }
	json.Unmarshal(rep.Result, &res)
	return res.Server
}

// A re-exec, with two servers in one process for the two binaries: the
// old one finishes what is in flight, ends streams with a word, hands
// over every connection with what it had read of the next request, and
// the new one answers the requests that came meanwhile.
func TestPauseHandoverAdopt(t *testing.T) {
	release := make(chan struct{})
	old := &Server{Handler: named("old", release)}
	path := serveServer(t, old)

	idle, idleR := rawConn(t, path)
	idle.Write([]byte(`{"id":1,"action":"status"}` + "\n"))
	if got := servedBy(t, idleR, 1); got != "old" {
		t.Fatalf("before: served by %s", got)
	}
	half, halfR := rawConn(t, path)
	half.Write([]byte(`{"id":2,"action":"sta`))
	follow, followR := rawConn(t, path)
	follow.Write([]byte(`{"id":3,"action":"follow"}` + "\n"))
	if rep := readReply(t, followR); !rep.More {
		t.Fatalf("follow: %+v", rep)
	}
	slow, slowR := rawConn(t, path)
	slow.Write([]byte(`{"id":4,"action":"slow"}` + "\n"))
	upgrade, upgradeR := rawConn(t, path)
	upgrade.Write([]byte(`{"id":5,"action":"slow"}` + "\n"))
	// The stream and both slow requests are in flight before the pause.
	waitUntil(t, "three requests in flight", func() bool {
		old.mu.Lock()
		defer old.mu.Unlock()
		n := 0
		for cn := range old.conns {
			n += len(cn.reqs)
		}
		return n == 3
	})

	var released atomic.Bool
	paused := make(chan error, 1)
	exemptOne := func(r wire.Request) bool { return r.ID == 5 } // the request asking for the re-exec
	go func() {
		err := old.Pause(time.Now().Add(time.Minute), exemptOne)
		if err == nil && !released.Load() {
			err = errors.New("Pause returned with a request in flight")
		}
		paused <- err
	}()
	// The stream ends with a word saying why.
	if rep := readReply(t, followR); rep.OK || rep.ID != 3 || !strings.Contains(rep.Error.Message, "re-executing") {
		t.Fatalf("follow's end: %+v", rep)
	}
	released.Store(true)
	close(release)
	if err := <-paused; err != nil {
		t.Fatal(err)
	}
	if got := servedBy(t, slowR, 4); got != "old" {
		t.Fatalf("slow: served by %s", got)
	}
	// Requests sent now wait for the new binary.
	idle.Write([]byte(`{"id":6,"action":"status"}` + "\n"))
	follow.Write([]byte(`{"id":7,"action":"status"}` + "\n"))
	conns, err := old.Handover()
	if err != nil {
		t.Fatal(err)
	}
	// The request asking for the re-exec answers last, before the execve.
	if got := servedBy(t, upgradeR, 5); got != "old" {
		t.Fatalf("upgrade: served by %s", got)
	}
	half.Write([]byte(`tus"}` + "\n"))

	adopter := &Server{Handler: named("new", nil)}
	t.Cleanup(func() { adopter.Close() })
	for _, c := range conns {
		if err := adopter.Adopt(c.File, c.Buffered); err != nil {
			t.Fatal(err)
		}
	}
	old.Close() // the execve
	for _, tc := range []struct {
		name string
		r    *bufio.Reader
		id   uint64
	}{{"idle", idleR, 6}, {"half-sent", halfR, 2}, {"after a stream", followR, 7}} {
		if got := servedBy(t, tc.r, tc.id); got != "new" {
			t.Fatalf("%s: served by %s", tc.name, got)
		}
	}
	slow.Write([]byte(`{"id":8,"action":"status"}` + "\n"))
	if got := servedBy(t, slowR, 8); got != "new" {
		t.Fatalf("slow's next: served by %s", got)
	}
}

// A request that does not finish in time makes Pause give up: the server
// goes on as before.
func TestPauseGivesUp(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s := &Server{Handler: named("old", release)}
	path := serveServer(t, s)
	slow, _ := rawConn(t, path)
	slow.Write([]byte(`{"id":1,"action":"slow","service":"web"}` + "\n"))
	waitUntil(t, "the slow request in flight", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for cn := range s.conns {
			if len(cn.reqs) > 0 {
				return true
			}
		}
		return false
	})
	err := s.Pause(time.Now().Add(50*time.Millisecond), nil)
	if err == nil || !strings.Contains(err.Error(), "request 'slow web' of uid") {
		t.Fatalf("Pause: %v", err)
	}
	c, r := rawConn(t, path)
	c.Write([]byte(`{"id":2,"action":"status"}` + "\n"))
	if got := servedBy(t, r, 2); got != "old" {
		t.Fatalf("after: served by %s", got)
	}
}

// pipeListener hands out in-memory connections, as libp2p's streams: not
// unix sockets, so a re-exec cannot hand them over.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *pipeListener) Close() error   { close(l.done); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "unix"} }

// A connection that cannot be handed over is read on during the pause,
// and told that its requests were not carried out.
func TestPausedNetworkConnectionsAreAnswered(t *testing.T) {
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	s := &Server{Handler: named("old", nil), Identify: func(net.Conn) (Peer, error) { return Peer{Remote: "12D3KooWpeer"}, nil }}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	client, server := net.Pipe()
	defer client.Close()
	ln.conns <- server
	client.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(client)
	client.Write([]byte(`{"id":1,"action":"status"}` + "\n"))
	if got := servedBy(t, r, 1); got != "old" {
		t.Fatalf("before: served by %s", got)
	}
	if err := s.Pause(time.Now().Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	client.Write([]byte(`{"id":2,"action":"stop","service":"web"}` + "\n"))
	if rep := readReply(t, r); rep.OK || rep.ID != 2 || !strings.Contains(rep.Error.Message, "not carried out") {
		t.Fatalf("during the pause: %+v", rep)
	}
	conns, err := s.Handover()
	if err != nil || len(conns) != 0 {
		t.Fatalf("handover of a network connection: %v %v", conns, err)
	}
	s.Resume()
	client.Write([]byte(`{"id":3,"action":"status"}` + "\n"))
	if got := servedBy(t, r, 3); got != "old" {
		t.Fatalf("after: served by %s", got)
	}
}

// A client that stops reading cannot hold a pause for the whole write
// timeout: during a pause its connection is dropped after a second of
// blocked writes, and not handed over.
func TestPauseDropsClientsThatDoNotRead(t *testing.T) {
	var sending atomic.Bool
	flood := HandlerFunc(func(ctx context.Context, peer Peer, req wire.Request, out Responder) {
		big := json.RawMessage(`"` + strings.Repeat("x", 256<<10) + `"`)
		for ctx.Err() == nil {
			sending.Store(true)
			if !out.Send(wire.Reply{ID: req.ID, OK: true, More: true, Result: big}) {
				return
			}
		}
	})
	s := &Server{Handler: flood, WriteTimeout: time.Hour, Identify: func(c net.Conn) (Peer, error) {
		// The smallest send buffer: the first reply does not fit.
		c.(*net.UnixConn).SetWriteBuffer(1)
		return PeerOf(c)
	}}
	path := serveServer(t, s)
	c, _ := rawConn(t, path)
	c.Write([]byte(`{"id":1,"action":"log","args":["-f"]}` + "\n"))
	waitUntil(t, "the stream to send", sending.Load)
	// Nothing is read: the stream's write blocks. Without the pause's
	// bound it would until the pause's deadline (WriteTimeout is an hour).
	if err := s.Pause(time.Now().Add(time.Minute), nil); err != nil {
		t.Fatal(err)
	}
	conns, err := s.Handover()
	if err != nil || len(conns) != 0 {
		t.Fatalf("the connection that did not read was handed over: %d %v", len(conns), err)
	}
}
