package httpguard

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// ClientAddr is the IP of r's client: the throttle's unit.
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Bearer is the token of r's Authorization header; present says whether
// the header was there at all. The scheme is matched without regard to
// case (RFC 9110, 11.1): "bearer" is what some clients send.
func Bearer(r *http.Request) (token string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, token, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(token), true
}

// LimitListener accepts at most n connections at once; the others wait
// in the kernel's backlog.
func LimitListener(ln net.Listener, n int) *Limited {
	return &Limited{Listener: ln, sem: make(chan struct{}, n)}
}

// Limited is a listener that bounds its open connections.
type Limited struct {
	net.Listener
	sem chan struct{}
}

// Open is how many of its connections are open.
func (l *Limited) Open() int { return len(l.sem) }

// Detach takes the listening socket of ln (a Limited on a TCP listener,
// served by srv) away from srv for a re-exec: srv stops accepting and
// ends its idle connections, the requests in flight are given up to
// grace to end, and the socket, still listening (a new client waits in
// the backlog), is returned as a file to hand over. Until Reattach,
// srv serves nothing new.
func Detach(srv *http.Server, ln *Limited, grace time.Duration) (*os.File, error) {
	tl, ok := ln.Listener.(*net.TCPListener)
	if !ok {
		return nil, fmt.Errorf("%T is not a TCP listener", ln.Listener)
	}
	f, err := tl.File()
	if err != nil {
		return nil, err
	}
	srv.SetKeepAlivesEnabled(false) // closes the idle connections
	ln.Close()
	for end := time.Now().Add(grace); ln.Open() > 0 && time.Now().Before(end); {
		time.Sleep(5 * time.Millisecond)
	}
	return f, nil
}

// Reattach is the listener of a socket Detach took (f: the caller
// closes it), for srv to serve again.
func Reattach(srv *http.Server, f *os.File) (net.Listener, error) {
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	srv.SetKeepAlivesEnabled(true)
	return ln, nil
}

func (l *Limited) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
}

type limitConn struct {
	net.Conn
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
