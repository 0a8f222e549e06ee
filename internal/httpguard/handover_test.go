package httpguard

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A socket taken for a re-exec keeps listening: a client that connects
// meanwhile is served once the socket is given back (the re-exec failed),
// or by whoever inherits it.
func TestTakeAndGiveBack(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") })}
	lim := LimitListener(tcp, 8)
	go srv.Serve(lim)
	defer srv.Close()
	url := "http://" + tcp.Addr().String() + "/"
	get := func() (string, error) {
		c := &http.Client{Timeout: 30 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get(); err != nil || body != "served" {
		t.Fatalf("before: %q, %v", body, err)
	}

	var taken Taken
	var logged []string
	logf := func(f string, a ...any) { logged = append(logged, f) }
	f, err := taken.Take("--x", func() (*os.File, error) { return Detach(srv, lim, time.Second) }, func(f *os.File) error {
		ln, err := Reattach(srv, f)
		if err == nil {
			go srv.Serve(ln)
		}
		return err
	}, logf)
	if err != nil || f == nil || len(taken.Files) != 1 {
		t.Fatalf("Take: %v, %v, %d files", f, err, len(taken.Files))
	}
	// The socket still listens: a client waits in its backlog.
	type got struct {
		body string
		err  error
	}
	done := make(chan got, 1)
	go func() {
		body, err := get()
		done <- got{body, err}
	}()
	taken.GiveBack()
	taken.Close()
	if g := <-done; g.err != nil || g.body != "served" {
		t.Fatalf("a client of the taken socket: %q, %v", g.body, g.err)
	}
	if len(logged) != 0 {
		t.Fatalf("logged %q", logged)
	}

	// A server that serves nothing gives nothing; a failure names the flag.
	if f, err := taken.Take("--y", func() (*os.File, error) { return nil, nil }, nil, logf); f != nil || err != nil || len(taken.Files) != 1 {
		t.Fatalf("nothing to take: %v, %v", f, err)
	}
	if _, err := taken.Take("--z", func() (*os.File, error) { return nil, errors.New("boom") }, nil, logf); err == nil || !strings.Contains(err.Error(), "--z listener: boom") {
		t.Fatalf("failed take: %v", err)
	}
}

// What a re-exec inherits is a TCP listener, or nothing; any other
// descriptor is refused.
func TestInherited(t *testing.T) {
	if ln, err := Inherited(0, "--x"); ln != nil || err != nil {
		t.Fatalf("fd 0: %v, %v", ln, err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	f, err := tcp.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Inherited(handedOver(t, f), "--x")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() != tcp.Addr().String() {
		t.Fatalf("inherited %v, want %v", ln.Addr(), tcp.Addr())
	}
	unix, err := net.Listen("unix", filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close()
	uf, err := unix.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Inherited(handedOver(t, uf), "--x"); err == nil || !strings.Contains(err.Error(), "is not a TCP socket") {
		t.Fatalf("a unix socket: %v", err)
	}
}

// handedOver is a descriptor of f's socket of its own, as a re-exec's
// new binary has (Inherited closes it; f is closed here).
func handedOver(t *testing.T, f *os.File) int {
	t.Helper()
	defer f.Close()
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	return fd
}
