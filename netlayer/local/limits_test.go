package local

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestAdmit(t *testing.T) {
	l := limits{max: 16, perPeer: 4, reserved: 4}
	counts := func(unpriv int, peers map[string]int) connCounts {
		return connCounts{total: unpriv, unprivileged: unpriv, perPeer: peers}
	}
	tests := []struct {
		name       string
		c          connCounts
		privileged bool
		key        string
		want       string // "" admitted, else part of the refusal
	}{
		{"first", counts(0, map[string]int{}), false, "uid 1000", ""},
		{"under its limit", counts(3, map[string]int{"uid 1000": 3}), false, "uid 1000", ""},
		{"at its limit", counts(4, map[string]int{"uid 1000": 4}), false, "uid 1000", "too many connections from uid 1000 (limit 4)"},
		{"another uid", counts(4, map[string]int{"uid 1000": 4}), false, "uid 1001", ""},
		{"a network peer", counts(4, map[string]int{"peer 12D3KooWx": 4}), false, "peer 12D3KooWx", "too many connections from peer 12D3KooWx (limit 4)"},
		{"unprivileged share full", counts(12, map[string]int{"uid 1": 4, "uid 2": 4, "uid 3": 4}), false, "uid 4", "too many connections from unprivileged callers (limit 12)"},
		{"privileged over everything", counts(12, map[string]int{"uid 0": 40}), true, "uid 0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := l.admit(tt.c, tt.privileged, tt.key)
			if ok != (tt.want == "") || !strings.Contains(why, tt.want) {
				t.Fatalf("admit = %v %q, want %q", ok, why, tt.want)
			}
		})
	}
}

func TestAdmitRequest(t *testing.T) {
	l := limits{requests: 10, requestsPerPeer: 4}
	counts := func(total int, peers map[string]int) connCounts {
		return connCounts{requests: total, requestsPerPeer: peers}
	}
	tests := []struct {
		name       string
		c          connCounts
		privileged bool
		key        string
		want       string // "" admitted, else part of the refusal
	}{
		{"first", counts(0, map[string]int{}), false, "uid 1000", ""},
		{"under its limit", counts(3, map[string]int{"uid 1000": 3}), false, "uid 1000", ""},
		{"at its limit", counts(4, map[string]int{"uid 1000": 4}), false, "uid 1000", "too many requests in flight from uid 1000 (limit 4)"},
		{"another uid", counts(4, map[string]int{"uid 1000": 4}), false, "uid 1001", ""},
		{"unprivileged share full", counts(10, map[string]int{"peer A": 4, "peer B": 4, "peer C": 2}), false, "peer D", "too many requests in flight from unprivileged callers (limit 10)"},
		{"privileged over everything", counts(10, map[string]int{"uid 1": 4}), true, "uid 0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, why := l.admitRequest(tt.c, tt.privileged, tt.key)
			if ok != (tt.want == "") || !strings.Contains(why, tt.want) {
				t.Fatalf("admitRequest = %v %q, want %q", ok, why, tt.want)
			}
		})
	}
}

// A caller that pipelines thousands of requests that do not end on one
// connection gets its share in flight and a clear refusal for the rest,
// on the same connection, which goes on; the daemon never holds more
// than the bounds, and root is served throughout.
func TestRequestFloodIsBounded(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	inFlight, most := 0, 0
	hold := HandlerFunc(func(ctx context.Context, peer Peer, req wire.Request, out Responder) {
		if req.Action == "hold" {
			mu.Lock()
			inFlight++
			most = max(most, inFlight)
			mu.Unlock()
			select {
			case <-release:
			case <-ctx.Done():
			}
			mu.Lock()
			inFlight--
			mu.Unlock()
		}
		out.Send(wire.Reply{ID: req.ID, OK: true})
	})
	s := &Server{Handler: hold, MaxRequestsPerPeer: 100, MaxRequests: 150}
	path, dial := peersByName(t, s)
	raw := func(uid int) (net.Conn, *bufio.Reader) {
		c, err := net.DialUnix("unix", &net.UnixAddr{Name: filepath.Join(filepath.Dir(filepath.Dir(path)), fmt.Sprintf("uid%d.raw", uid)), Net: "unix"},
			&net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(30 * time.Second))
		return c, bufio.NewReaderSize(c, 1<<16)
	}
	// flood sends n held requests on one connection and reads the
	// refusals, which come at once; the admitted ones are still held.
	flood := func(uid, n, admitted int, why string) (net.Conn, *bufio.Reader) {
		c, r := raw(uid)
		go func() {
			w := bufio.NewWriter(c)
			for i := 1; i <= n; i++ {
				fmt.Fprintf(w, `{"id":%d,"action":"hold"}`+"\n", i)
			}
			w.Flush()
		}()
		for range n - admitted {
			rep := readReply(t, r)
			if rep.OK || rep.Error.Kind != wire.BadRequest || rep.Error.Message != why {
				t.Fatalf("uid %d: got %+v, want the refusal %q", uid, rep, why)
			}
		}
		return c, r
	}
	_, alice := flood(1000, 3000, 100, "too many requests in flight from uid 1000 (limit 100); wait for some to end and try again")
	_, bob := flood(1001, 200, 50, "too many requests in flight from unprivileged callers (limit 150); try again later")
	// Root is not counted.
	if got := ping(t, dial(0, 0)); got != "ok" {
		t.Fatalf("root during the flood: %q", got)
	}
	held := func() int { mu.Lock(); defer mu.Unlock(); return inFlight }
	waitUntil(t, "the 150 admitted requests (alice's 100, bob's 50) to reach the handler", func() bool { return held() == 150 })
	close(release)
	for range 100 {
		if rep := readReply(t, alice); !rep.OK {
			t.Fatalf("alice's held request: %+v", rep)
		}
	}
	for range 50 {
		if rep := readReply(t, bob); !rep.OK {
			t.Fatalf("bob's held request: %+v", rep)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if most > 150 {
		t.Fatalf("%d requests were in flight at once, past the bound of 150", most)
	}
	// The counts come back down: alice is served again.
	waitUntil(t, "alice's requests to be counted as ended", func() bool { return ping(t, dial(1000, 1)) == "ok" })
}

// peersByName serves on a real socket and names each caller by the name
// of the socket it dialed from (…/uidN.M is uid N), so one test process
// can be many users. Root is privileged.
func peersByName(t *testing.T, s *Server) (path string, dial func(uid, n int) *Client) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "run", "socket")
	ln, err := Listen(path, ListenOptions{Group: -1})
	if err != nil {
		t.Fatal(err)
	}
	s.Identify = func(c net.Conn) (Peer, error) {
		var p Peer
		_, err := fmt.Sscanf(filepath.Base(c.RemoteAddr().String()), "uid%d.", &p.UID)
		return p, err
	}
	s.Privileged = func(p Peer) bool { return p.UID == 0 }
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	dial = func(uid, n int) *Client {
		t.Helper()
		c, err := net.DialUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, fmt.Sprintf("uid%d.%d", uid, n)), Net: "unix"},
			&net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return NewClient(c)
	}
	return path, dial
}

// ping makes one request on c and says what came back: "ok", or the error.
func ping(t *testing.T, c *Client) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := c.Call(ctx, wire.Request{Action: "status"})
	switch {
	case err != nil:
		return err.Error()
	case !rep.OK:
		return rep.Error.Message
	}
	return "ok"
}

// One user's connections, however many, cannot keep root out, nor take
// every slot from other users.
func TestOneUserCannotLockOutRoot(t *testing.T) {
	s := &Server{Handler: echo, MaxConns: 16, MaxConnsPerPeer: 4, ReservedConns: 4}
	_, dial := peersByName(t, s)
	var alice []*Client
	for i := range 20 {
		c := dial(1000, i)
		alice = append(alice, c)
		want := "ok"
		if i >= 4 {
			want = "too many connections from uid 1000 (limit 4); close some and try again"
		}
		if got := ping(t, c); got != want {
			t.Fatalf("alice's connection %d: %q, want %q", i, got, want)
		}
	}
	// Other users fill the unprivileged share (16 - 4 reserved).
	for uid := 1001; uid <= 1002; uid++ {
		for i := range 4 {
			if got := ping(t, dial(uid, i)); got != "ok" {
				t.Fatalf("uid %d connection %d: %q", uid, i, got)
			}
		}
	}
	if got := ping(t, dial(1003, 0)); !strings.Contains(got, "too many connections from unprivileged callers (limit 12)") {
		t.Fatalf("past the unprivileged share: %q", got)
	}
	// Root still gets the reserved slots.
	for i := range 4 {
		if got := ping(t, dial(0, i)); got != "ok" {
			t.Fatalf("root's connection %d: %q", i, got)
		}
	}
	// A closed connection frees its slot for its user.
	alice[0].Close()
	n := len(alice)
	waitUntil(t, "alice's slot to be freed", func() bool { n++; return ping(t, dial(1000, n)) == "ok" })
}

// waitUntil polls cond within a deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Empty frames are not requests: a client that sends nothing else is
// closed as idle, however often it sends them.
func TestEmptyFramesDoNotKeepAConnection(t *testing.T) {
	path := serve(t, echo, 300*time.Millisecond)
	c, r := rawConn(t, path)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				if _, err := c.Write([]byte("\n")); err != nil {
					return
				}
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	if rep := readReply(t, r); rep.OK || rep.Error.Kind != wire.Timeout {
		t.Fatalf("got %+v, want the idle timeout", rep)
	}
}

// When the client's side ends, its requests are cancelled: a follow
// stream on a quiet service ends and frees the connection.
func TestEOFCancelsRequestsInFlight(t *testing.T) {
	cancelled := make(chan struct{})
	follow := HandlerFunc(func(ctx context.Context, peer Peer, req wire.Request, out Responder) {
		out.Send(wire.Reply{ID: req.ID, OK: true, More: true})
		<-ctx.Done() // a quiet service: nothing more to send
		close(cancelled)
	})
	path := serve(t, follow, time.Minute)
	c, r := rawConn(t, path)
	c.Write([]byte(`{"id":1,"action":"log","service":"quiet","args":["-f"]}` + "\n"))
	if rep := readReply(t, r); !rep.More {
		t.Fatalf("got %+v, want a stream", rep)
	}
	c.(*net.UnixConn).CloseWrite()
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream went on after the client's EOF")
	}
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("the connection should be closed")
	}
}
