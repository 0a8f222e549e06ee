package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
	"golang.org/x/sys/unix"
)

// Peer identifies the process at the other end of a connection.
type Peer struct {
	UID uint32
	GID uint32
	PID int32
	// Remote, when set, is the libp2p peer ID of a caller from the
	// network (netlayer/p2p); UID, GID and PID then mean nothing.
	Remote string
}

// Responder sends the replies to one request. Send reports false once the
// connection is gone, so a stream producer knows to stop.
type Responder interface {
	Send(wire.Reply) bool
}

// Handler serves one request. It returns when the last reply was sent; ctx
// ends when the connection closes or the server shuts down.
type Handler interface {
	ServeRequest(ctx context.Context, peer Peer, req wire.Request, out Responder)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, peer Peer, req wire.Request, out Responder)

// ServeRequest calls f.
func (f HandlerFunc) ServeRequest(ctx context.Context, peer Peer, req wire.Request, out Responder) {
	f(ctx, peer, req, out)
}

// ErrInsecureDir is wrapped by Listen when the socket directory is not owned
// by us with mode 0700.
var ErrInsecureDir = errors.New("socket directory has insecure permissions")

// ErrInUse is wrapped by Listen when another daemon answers on the socket.
var ErrInUse = errors.New("socket is in use by a running daemon")

// ListenOptions tune Listen.
type ListenOptions struct {
	// Insecure skips the ownership and 0700 check of the socket directory.
	Insecure bool
	// Mode, when non-zero, is applied to the socket file (with Group) so
	// that other local users can connect.
	Mode os.FileMode
	// Group, when >= 0, becomes the socket file's group. -1 leaves it.
	Group int
}

// Listen creates the socket's directory (0700) if missing, checks it, removes
// a stale socket (only after a dial to it fails, so that a second daemon
// cannot steal a live one's socket) and listens.
func Listen(path string, opts ListenOptions) (*net.UnixListener, error) {
	dir := filepath.Dir(path)
	// A socket opened to other users needs a directory they can enter
	// (0755), still owned by us and writable by nobody else.
	shared := opts.Mode&0o077 != 0
	dirMode := os.FileMode(0o700)
	if shared {
		dirMode = 0o755
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if !opts.Insecure {
		if err := checkDir(dir, shared); err != nil {
			return nil, err
		}
	}
	if _, err := os.Lstat(path); err == nil {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: %w", path, ErrInUse)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket: %w", err)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if opts.Mode != 0 {
		if err := os.Chmod(path, opts.Mode); err != nil {
			ln.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	if opts.Group >= 0 {
		if err := os.Chown(path, -1, opts.Group); err != nil {
			ln.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return ln, nil
}

func checkDir(dir string, shared bool) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	forbidden := uint32(0o077)
	if shared {
		forbidden = 0o022
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != uint32(os.Geteuid()) || st.Mode&forbidden != 0 {
		return fmt.Errorf("%s: %w", dir, ErrInsecureDir)
	}
	return nil
}

// Server serves the control protocol on a unix listener.
type Server struct {
	// Handler serves each request, each in its own goroutine.
	Handler Handler
	// IdleTimeout closes a connection that has no request in flight and sends
	// nothing for this long. Default 30s.
	IdleTimeout time.Duration
	// WriteTimeout bounds one reply write, so a client that stops reading
	// cannot hold a stream producer forever. Default 10s.
	WriteTimeout time.Duration
	// MaxConns bounds concurrent connections; more wait in the kernel's
	// backlog. Default 1024.
	MaxConns int
	// Logf receives connection-level problems. Optional.
	Logf func(format string, args ...any)
	// Identify names the caller of a connection. Default PeerOf (the
	// unix socket's credentials).
	Identify func(net.Conn) (Peer, error)

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]struct{} // guarded by mu
	closed  bool                  // guarded by mu
	wg      sync.WaitGroup
	baseCtx context.Context
	cancel  context.CancelFunc
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// Serve accepts connections until Close. It always returns a non-nil error;
// after Close it is net.ErrClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.ln = ln
	s.conns = make(map[net.Conn]struct{})
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	s.mu.Unlock()
	maxConns := s.MaxConns
	if maxConns <= 0 {
		maxConns = 1024
	}
	sem := make(chan struct{}, maxConns)
	for {
		sem <- struct{}{}
		c, err := ln.Accept()
		if err != nil {
			<-sem
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return err
		}
		if !s.track(c) {
			c.Close()
			<-sem
			return net.ErrClosed
		}
		go func() {
			defer func() { <-sem }()
			defer s.wg.Done()
			s.serveConn(c)
		}()
	}
}

// track registers a connection; it fails after Close.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

// Close stops accepting, closes every connection and waits for handlers.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// PeerOf returns the credentials of a unix connection's peer.
func PeerOf(c net.Conn) (Peer, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{}, fmt.Errorf("not a unix connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Peer{}, err
	}
	if cerr != nil {
		return Peer{}, cerr
	}
	return Peer{UID: cred.Uid, GID: cred.Gid, PID: cred.Pid}, nil
}

type connWriter struct {
	mu      sync.Mutex
	c       net.Conn
	timeout time.Duration
	dead    bool // guarded by mu
}

func (w *connWriter) Send(r wire.Reply) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dead {
		return false
	}
	w.c.SetWriteDeadline(time.Now().Add(w.timeout))
	if err := wire.EncodeReply(w.c, r); err != nil {
		w.dead = true
		w.c.Close()
		return false
	}
	return true
}

func (s *Server) serveConn(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	identify := s.Identify
	if identify == nil {
		identify = PeerOf
	}
	peer, err := identify(c)
	if err != nil {
		s.logf("control socket: cannot identify peer: %v", err)
		return
	}
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 30 * time.Second
	}
	wt := s.WriteTimeout
	if wt <= 0 {
		wt = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(s.baseCtx)
	defer cancel()
	out := &connWriter{c: c, timeout: wt}
	var inflight sync.WaitGroup
	var mu sync.Mutex
	active := 0 // requests in flight; guarded by mu
	dec := wire.NewDecoder(c)
	for {
		c.SetReadDeadline(time.Now().Add(idle))
		frame, err := dec.Next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				mu.Lock()
				busy := active > 0
				mu.Unlock()
				if busy {
					continue
				}
				out.Send(wire.ErrReply(0, wire.Errorf(wire.Timeout, "no request within %v; closing", idle)))
				break
			}
			if errors.Is(err, wire.ErrFrameTooLarge) {
				out.Send(wire.ErrReply(0, wire.Errorf(wire.BadRequest, "frame larger than %d bytes", wire.MaxFrame)))
				continue
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				out.Send(wire.ErrReply(0, wire.Errorf(wire.BadRequest, "connection closed inside a frame")))
			}
			// A client may half-close after its request and still read
			// the replies; wait for what is in flight before closing.
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				inflight.Wait()
			}
			break
		}
		if len(frame) == 0 {
			continue
		}
		req, err := wire.DecodeRequest(frame)
		if err != nil {
			var we *wire.Error
			errors.As(err, &we)
			out.Send(wire.ErrReply(req.ID, we))
			continue
		}
		mu.Lock()
		active++
		mu.Unlock()
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			defer func() {
				mu.Lock()
				active--
				mu.Unlock()
			}()
			s.Handler.ServeRequest(ctx, peer, req, out)
		}()
	}
	cancel()
	c.Close()
	inflight.Wait()
}
