package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := TCP(ctx(t), addr); err != nil {
		t.Fatalf("listening: %v", err)
	}
	l.Close()
	if err := TCP(ctx(t), addr); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("closed: %v", err)
	}
}

func TestHTTP(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/health", http.StatusFound)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(strings.Repeat("x", 1<<20))) // more than is read
	}))
	defer srv.Close()
	if err := HTTP(ctx(t), srv.URL+"/health"); err == nil || err.Error() != "GET "+srv.URL+"/health: 503 Service Unavailable" {
		t.Fatalf("503: %v", err)
	}
	status = http.StatusNoContent
	if err := HTTP(ctx(t), srv.URL+"/health"); err != nil {
		t.Fatalf("204: %v", err)
	}
	if err := HTTP(ctx(t), srv.URL+"/moved"); err == nil || !strings.HasSuffix(err.Error(), "302 Found") {
		t.Fatalf("a redirect is not ready: %v", err)
	}
}

// TestTimeout: a server that accepts and never answers is bounded by the
// probe's context.
func TestTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := HTTP(c, "http://"+l.Addr().String()+"/"); err == nil {
		t.Fatal("a server that never answers is ready")
	}
}

func TestFD(t *testing.T) {
	f, err := NewFD()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := os.NewFile(uintptr(f.WriteEnd()), "w")
	go func() { w.Write([]byte("almost")); w.Write([]byte(" ready\n")) }()
	if err := f.Wait(); err != nil {
		t.Fatalf("a newline: %v", err)
	}
	g, _ := NewFD()
	g.CloseWriteEnd()
	if err := g.Wait(); err == nil || err.Error() != "end of file" {
		t.Fatalf("closed without a newline: %v", err)
	}
	g.Close()
}

func TestExecResult(t *testing.T) {
	if err := ExecResult("check", true, "exited with code 0", false, time.Second, "fine\n"); err != nil {
		t.Fatal(err)
	}
	if err := ExecResult("redis-cli", false, "exited with code 1", false, time.Second, "PING\nCould not connect to Redis\n\n"); err == nil || err.Error() != "redis-cli exited with code 1: Could not connect to Redis" {
		t.Fatal(err)
	}
	if err := ExecResult("check", false, "terminated with signal SIGKILL", true, time.Second, ""); err == nil || err.Error() != "check: no answer within 1s" {
		t.Fatal(err)
	}
}
