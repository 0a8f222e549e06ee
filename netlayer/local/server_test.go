package local

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// echo answers every request with its own action.
var echo = HandlerFunc(func(ctx context.Context, peer Peer, req wire.Request, out Responder) {
	out.Send(wire.OKReply(req.ID, map[string]any{"action": req.Action, "uid": peer.UID}))
})

func serve(t *testing.T, h Handler, idle time.Duration) string {
	t.Helper()
	return serveServer(t, &Server{Handler: h, IdleTimeout: idle})
}

// serveServer runs s on a new socket until the test ends.
func serveServer(t *testing.T, s *Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "socket")
	ln, err := Listen(path, ListenOptions{Group: -1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return path
}

func rawConn(t *testing.T, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

func readReply(t *testing.T, r *bufio.Reader) wire.Reply {
	t.Helper()
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	var rep wire.Reply
	if err := json.Unmarshal(line, &rep); err != nil {
		t.Fatalf("reply %q: %v", line, err)
	}
	return rep
}

func TestGarbageOversizedAndTruncatedFrames(t *testing.T) {
	path := serve(t, echo, 10*time.Second)
	c, r := rawConn(t, path)

	c.Write([]byte("this is not json\n"))
	if rep := readReply(t, r); rep.OK || rep.Error.Kind != wire.BadRequest {
		t.Fatalf("garbage: %+v", rep)
	}
	c.Write([]byte(strings.Repeat("a", wire.MaxFrame+1) + "\n"))
	if rep := readReply(t, r); rep.OK || rep.Error.Kind != wire.BadRequest || !strings.Contains(rep.Error.Message, "larger") {
		t.Fatalf("oversized: %+v", rep)
	}
	// The same connection still works after both.
	c.Write([]byte(`{"id":7,"action":"status"}` + "\n"))
	if rep := readReply(t, r); !rep.OK || rep.ID != 7 {
		t.Fatalf("after garbage: %+v", rep)
	}
	// A truncated frame at close gets bad-request.
	c.Write([]byte(`{"id":8,"act`))
	c.(*net.UnixConn).CloseWrite()
	if rep := readReply(t, r); rep.OK || rep.Error.Kind != wire.BadRequest {
		t.Fatalf("truncated: %+v", rep)
	}
}

func TestSilentClientTimesOutWhileOthersAreServed(t *testing.T) {
	path := serve(t, echo, 300*time.Millisecond)
	_, silent := rawConn(t, path)

	cl, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rep, err := cl.Call(context.Background(), wire.Request{Action: "status"})
	if err != nil || !rep.OK {
		t.Fatalf("served client: %+v %v", rep, err)
	}
	if rep := readReply(t, silent); rep.OK || rep.Error.Kind != wire.Timeout {
		t.Fatalf("silent client: %+v", rep)
	}
	if _, err := silent.ReadByte(); err == nil {
		t.Fatal("silent client's connection should be closed")
	}
}

func TestPeerCredentials(t *testing.T) {
	path := serve(t, echo, time.Second)
	cl, err := Dial(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rep, err := cl.Call(context.Background(), wire.Request{Action: "whoami"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ UID uint32 }
	json.Unmarshal(rep.Result, &got)
	if got.UID != uint32(os.Getuid()) {
		t.Fatalf("peer uid %d, want %d", got.UID, os.Getuid())
	}
}

func TestListenRefusesInsecureDirAndLiveSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	os.Mkdir(dir, 0o755)
	_, err := Listen(filepath.Join(dir, "socket"), ListenOptions{Group: -1})
	if !errors.Is(err, ErrInsecureDir) || !strings.Contains(err.Error(), dir+": socket directory has insecure permissions") {
		t.Fatalf("got %v", err)
	}
	ln, err := Listen(filepath.Join(dir, "socket"), ListenOptions{Insecure: true, Group: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := Listen(filepath.Join(dir, "socket"), ListenOptions{Insecure: true, Group: -1}); !errors.Is(err, ErrInUse) {
		t.Fatalf("second listener: %v", err)
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "socket")
	ln, err := Listen(path, ListenOptions{Group: -1})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	ln2, err := Listen(path, ListenOptions{Group: -1})
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	ln2.Close()
}

func TestDialErrorReadsLikeC(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope")
	_, err := Dial(context.Background(), path)
	if err == nil || err.Error() != path+": No such file or directory" {
		t.Fatalf("got %v", err)
	}
}

// TestPanickingHandlerIsNotFatal: a request whose handling panics is
// answered with an error and the server goes on serving.
func TestPanickingHandlerIsNotFatal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "sock")
	ln, err := Listen(path, ListenOptions{Group: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, p Peer, req wire.Request, out Responder) {
		if req.Action == "boom" {
			panic("injected")
		}
		out.Send(wire.OKReply(req.ID, nil))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rep, err := c.Call(ctx, wire.Request{Action: "boom"})
	if err != nil || rep.OK || !strings.Contains(rep.Error.Message, "internal error") {
		t.Fatalf("boom: %+v %v", rep, err)
	}
	if rep, err := c.Call(ctx, wire.Request{Action: "fine"}); err != nil || !rep.OK {
		t.Fatalf("after a panic: %+v %v", rep, err)
	}
}

// slowReader is a connection whose reader takes perFrame to take in each
// frame written to it: a write fails once the deadline set last is
// exceeded. The time is counted, not waited for, so that the test does
// not depend on the machine's speed.
type slowReader struct {
	net.Conn // nil: only the methods below are called
	perFrame time.Duration
	left     time.Duration // until the deadline set last
	frames   int
}

func (c *slowReader) SetWriteDeadline(t time.Time) error { c.left = time.Until(t); return nil }
func (c *slowReader) Close() error                       { return nil }
func (c *slowReader) Write(b []byte) (int, error) {
	if c.left -= c.perFrame; c.left < 0 {
		return 0, os.ErrDeadlineExceeded
	}
	c.frames++
	return len(b), nil
}

// The write timeout bounds each frame, not the whole answer: an answer of
// several parts (a status of 20,000 services) went out under one deadline
// set before it was even encoded, and on a busy machine the encoding and
// the parts took longer than the 10 s, so the connection was closed
// without an answer. A client that takes most of the timeout for every
// frame is served to the end.
func TestWriteTimeoutIsPerFrame(t *testing.T) {
	items := make([]string, 3000)
	for i := range items {
		items[i] = strings.Repeat("x", 500)
	}
	c := &slowReader{perFrame: 36 * time.Minute}
	w := &connWriter{c: c, timeout: time.Hour}
	if !w.Send(wire.OKReply(1, map[string]any{"items": items})) {
		t.Fatalf("the answer was cut after %d frames", c.frames)
	}
	if c.frames < 3 {
		t.Fatalf("%d frames: the answer should take several", c.frames)
	}
}

// trickleReader takes each frame in per, in real time: a client that
// reads, slowly.
type trickleReader struct {
	net.Conn // nil: only the methods below are called
	per      time.Duration
	deadline time.Time
	frames   int
}

func (c *trickleReader) SetWriteDeadline(t time.Time) error { c.deadline = t; return nil }
func (c *trickleReader) Close() error                       { return nil }
func (c *trickleReader) Write(b []byte) (int, error) {
	time.Sleep(c.per)
	if time.Now().After(c.deadline) {
		return 0, os.ErrDeadlineExceeded
	}
	c.frames++
	return len(b), nil
}

// During a pause (a re-exec) the rest of an answer shares one bound of
// pauseWriteTimeout, not one per frame: a client that reads slowly must
// not hold the re-exec up for longer than one that does not read.
func TestPauseBoundsTheRestOfAnAnswer(t *testing.T) {
	items := make([]string, 3000)
	for i := range items {
		items[i] = strings.Repeat("x", 500)
	}
	c := &trickleReader{per: pauseWriteTimeout * 6 / 10}
	w := &connWriter{c: c, timeout: time.Hour}
	w.hurried.Store(true)
	if w.Send(wire.OKReply(1, map[string]any{"items": items})) {
		t.Fatalf("a client taking %v a frame got all %d frames of an answer during a pause", c.per, c.frames)
	}
}
