package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/internal/httpguard"
	"github.com/shepherd-go/shepherd/netlayer/local"
)

// Options are the command line's: where to listen, and TLS. The zero
// value serves nothing.
type Options struct {
	// Addr is host:port to listen on (`--http`). Empty: no HTTP API.
	// Without TLS it must be a loopback address.
	Addr string
	// CertFile and KeyFile (`--http-tls-cert`, `--http-tls-key`) make the
	// server TLS only, on any address.
	CertFile, KeyFile string
	// Metrics, when set by the daemon, serves GET /metrics, to holders
	// of the admin capability (it shows every service), or to anyone with
	// MetricsPublic (`--metrics-public`).
	Metrics       http.Handler
	MetricsPublic bool
}

// Enabled says whether the options ask for an HTTP API at all.
func (o Options) Enabled() bool { return o.Addr != "" }

// ErrNotLoopback is returned for a non-loopback address without TLS.
var ErrNotLoopback = errors.New("httpapi: not a loopback address")

// Check validates the options without listening: a certificate needs its
// key, and an address that is not loopback needs TLS (capabilities are
// bearer tokens: in clear on a network, anyone on the path holds them).
func (o Options) Check() error {
	if o.Addr == "" {
		if o.CertFile != "" || o.KeyFile != "" {
			return fmt.Errorf("--http-tls-cert and --http-tls-key need --http ADDR")
		}
		return nil
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return fmt.Errorf("--http-tls-cert and --http-tls-key go together: give both, or neither for loopback HTTP")
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return fmt.Errorf("--http %s: expected HOST:PORT such as 127.0.0.1:8080: %v", o.Addr, err)
	}
	if o.CertFile == "" && !loopbackHost(host) {
		return fmt.Errorf("--http %s: %w; capabilities travel as bearer tokens, so HTTP beyond this machine needs TLS: give --http-tls-cert and --http-tls-key, or listen on 127.0.0.1 or [::1]", o.Addr, ErrNotLoopback)
	}
	return nil
}

// loopbackHost says whether host names only loopback: "localhost" or a
// loopback IP. An empty host is every interface.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Config is what the server needs of the daemon.
type Config struct {
	Options
	// Handler serves a request as the control socket does (the daemon's
	// request router and authorization).
	Handler local.Handler
	// Root and Caretaker reach the caretaker, which checks the admin
	// capability and names the target of a presented one.
	Root      *actor.RootContext
	Caretaker *actor.PID
	// PeerID is this daemon's: a sturdyref of another daemon is no token
	// here (HTTP relays nothing).
	PeerID string
	// Owner is the uid of the daemon's owner: the admin capability acts
	// as it.
	Owner uint32
	// Logf receives the server's log lines. Default: none.
	Logf func(format string, args ...any)
	// Now is the clock of the bad-token throttle. Default time.Now.
	Now func() time.Time
	// MaxConns bounds open connections. Default 256.
	MaxConns int
	// Listener, when set, is the listening socket a re-exec handed over
	// (the old binary's, on Addr): it is served instead of a new one, so
	// no client is refused while the daemon re-executes.
	Listener net.Listener
}

// Server is a running HTTP API.
type Server struct {
	cfg      Config
	srv      *http.Server
	tls      *tls.Config // nil: plain HTTP (loopback only)
	base     context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	mu       sync.Mutex
	closed   bool               // guarded by mu
	ln       net.Listener       // guarded by mu: what srv serves
	lim      *httpguard.Limited // guarded by mu: ln, or under its TLS
	detached bool               // guarded by mu: a re-exec took the socket
	throttle *httpguard.Throttle
	handler  http.Handler
}

// Start listens on cfg.Addr and serves until Close. It returns nil, nil
// when the options ask for no HTTP API.
func Start(cfg Config) (*Server, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	s, err := newServer(cfg)
	if err != nil {
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("--http %s: %w", cfg.Addr, err)
		}
	}
	if a, ok := ln.Addr().(*net.TCPAddr); ok && cfg.CertFile == "" && !a.IP.IsLoopback() {
		// "localhost" resolved to something else: refuse rather than
		// serve bearer tokens in clear.
		ln.Close()
		return nil, fmt.Errorf("--http %s: listens on %s: %w", cfg.Addr, a, ErrNotLoopback)
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("--http-tls-cert %s, --http-tls-key %s: %w", cfg.CertFile, cfg.KeyFile, err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	}
	s.serveOn(ln)
	s.logf("HTTP API on %s://%s", map[bool]string{false: "http", true: "https"}[cfg.CertFile != ""], ln.Addr())
	return s, nil
}

// serveOn serves the API on ln (a TCP listener), bounded and under TLS
// when asked.
func (s *Server) serveOn(ln net.Listener) {
	lim := httpguard.LimitListener(ln, s.cfg.MaxConns)
	served := net.Listener(lim)
	if s.tls != nil {
		served = tls.NewListener(lim, s.tls)
	}
	s.mu.Lock()
	s.ln, s.lim, s.detached = served, lim, false
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := s.srv.Serve(served)
		s.mu.Lock()
		detached := s.detached
		s.mu.Unlock()
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !detached {
			s.logf("http: %v", err)
		}
	}()
}

// handoverGrace is how long a re-exec waits for the HTTP requests in
// flight (a stream is cut at the exec; its client reconnects).
const handoverGrace = time.Second

// Detach gives the listening socket up for a re-exec (httpguard.Detach):
// nil, nil for a nil Server. Reattach serves it again, should the
// re-exec fail.
func (s *Server) Detach() (*os.File, error) {
	if s == nil {
		return nil, nil
	}
	s.mu.Lock()
	s.detached = true
	lim := s.lim
	s.mu.Unlock()
	return httpguard.Detach(s.srv, lim, handoverGrace)
}

// Reattach serves the socket Detach gave up again (f: the caller closes
// it).
func (s *Server) Reattach(f *os.File) error {
	ln, err := httpguard.Reattach(s.srv, f)
	if err != nil {
		return err
	}
	s.serveOn(ln)
	return nil
}

func newServer(cfg Config) (*Server, error) {
	if cfg.Handler == nil || cfg.Root == nil || cfg.Caretaker == nil {
		return nil, errors.New("httpapi: Config needs Handler, Root and Caretaker")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 256
	}
	s := &Server{cfg: cfg, throttle: httpguard.NewThrottle(cfg.Now)}
	s.base, s.cancel = context.WithCancel(context.Background())
	s.handler = s.mux()
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return s.base },
		// net/http's own complaints (a handler's panic, TLS handshakes
		// that fail) go to the daemon's log.
		ErrorLog: log.New(logfWriter(s.logf), "", 0),
	}
	return s, nil
}

// Addr is where the server listens (its port, when Addr asked for 0).
// A nil Server listens nowhere.
func (s *Server) Addr() net.Addr {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ln.Addr()
}

// Close stops listening, ends every request (streams included) and
// waits for their handlers. A nil Server and a second Close do nothing.
func (s *Server) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.srv.Close()
	s.wg.Wait()
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

// logfWriter writes lines to a Logf.
type logfWriter func(format string, args ...any)

func (f logfWriter) Write(p []byte) (int, error) {
	f("http: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
