package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
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
	// Via names, for the audit trail, the way a request came when it is
	// not this socket: "HTTP 127.0.0.1:5555" (httpapi).
	Via string
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

// ErrInUse is wrapped by Listen when another daemon holds the socket.
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

// Listener is a daemon's control socket: the listener, and the lock that
// makes the socket its own.
type Listener struct {
	*net.UnixListener
	Lock *SocketLock
}

// Close closes the listener (removing the socket file, unless told not
// to) and releases the lock.
func (l *Listener) Close() error {
	err := l.UnixListener.Close()
	l.Lock.Release()
	return err
}

// Listen creates the socket's directory (0700) if missing, checks it,
// takes the socket's lock (LockSocket: another daemon holding it is
// ErrInUse with its PID), removes a stale socket and listens.
func Listen(path string, opts ListenOptions) (*Listener, error) {
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
	lock, err := LockSocket(path)
	if err != nil {
		return nil, err
	}
	ln, err := listenLocked(path, opts)
	if err != nil {
		lock.Release()
		return nil, err
	}
	return &Listener{UnixListener: ln, Lock: lock}, nil
}

// listenLocked listens on path, whose lock we hold: a socket file there
// is stale, unless a daemon older than the lock answers on it.
func listenLocked(path string, opts ListenOptions) (*net.UnixListener, error) {
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
	want := "0700"
	if shared {
		want = "0755"
	}
	switch uid := uint32(os.Geteuid()); {
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return fmt.Errorf("%s: %w: it is not a directory; choose another socket path (-s)", dir, ErrInsecureDir)
	case st.Uid != uid:
		return fmt.Errorf("%s: %w: it belongs to uid %d, not to uid %d who runs shepherd; choose a socket path (-s) in a directory of your own", dir, ErrInsecureDir, st.Uid, uid)
	case st.Mode&forbidden != 0:
		return fmt.Errorf("%s: %w: it is mode %04o, and others could replace the socket; make it %s (chmod %s %s) or choose another socket path (-s)", dir, ErrInsecureDir, st.Mode&0o7777, want, want, dir)
	}
	return nil
}

// Server serves the control protocol on a unix listener (or on libp2p
// streams: netlayer/p2p's listener).
//
// A connection is served while requests come: one with no request in
// flight for IdleTimeout is closed (an empty frame or a malformed one
// does not count as a request). When the client's side ends (EOF), its
// requests in flight are cancelled and the connection is closed: a
// client that wants the replies keeps its side open (docs/protocol.md).
type Server struct {
	// Handler serves each request, each in its own goroutine.
	Handler Handler
	// IdleTimeout closes a connection that has no request in flight and sent
	// no request for this long. Default 30s.
	IdleTimeout time.Duration
	// WriteTimeout bounds one reply write, so a client that stops reading
	// cannot hold a stream producer forever. Default 10s.
	WriteTimeout time.Duration
	// MaxConns bounds concurrent connections; more wait in the kernel's
	// backlog. Default DefaultMaxConns.
	MaxConns int
	// MaxConnsPerPeer bounds the connections of one unprivileged caller
	// (a uid, or a network peer); one more is refused with an error
	// frame and closed. Default DefaultMaxConnsPerPeer.
	MaxConnsPerPeer int
	// ReservedConns of the MaxConns are kept for privileged callers.
	// Default DefaultReservedConns (never more than MaxConns/2).
	ReservedConns int
	// MaxRequestsPerPeer bounds the requests one unprivileged caller has
	// in flight over all its connections; one more is answered with a
	// bad-request error and the connection goes on. Default
	// DefaultMaxRequestsPerPeer.
	MaxRequestsPerPeer int
	// MaxRequests bounds the requests in flight of all unprivileged
	// callers together. Default DefaultMaxRequests.
	MaxRequests int
	// Privileged says whether a caller is exempt from the per-caller
	// limit and may use the reserved connections. Default: nobody.
	Privileged func(Peer) bool
	// Logf receives connection-level problems. Optional.
	Logf func(format string, args ...any)
	// Identify names the caller of a connection. Default PeerOf (the
	// unix socket's credentials).
	Identify func(net.Conn) (Peer, error)

	mu       sync.Mutex
	ln       net.Listener
	conns    map[*conn]struct{} // guarded by mu
	counts   connCounts         // guarded by mu
	closed   bool               // guarded by mu
	refusals refusalLog         // guarded by mu
	paused   *pause             // guarded by mu; set between Pause and Resume
	// slotFreed wakes the accept loop waiting for a free slot.
	slotFreed chan struct{}
	// changed wakes Pause: a reader parked, a request ended or streams.
	changed chan struct{}
	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
	baseCtx context.Context
	cancel  context.CancelFunc
}

// conn is one connection being served.
type conn struct {
	c    net.Conn
	peer Peer
	key  string // peerKey(peer)
	// privileged connections do not count against the unprivileged limits.
	privileged bool
	out        *connWriter
	// dec is read by the connection's reader only, or by Handover while
	// the reader is parked; pre feeds it first, for an adopted connection.
	dec    *wire.Decoder
	pre    *prefixReader
	ctx    context.Context // ends with the connection
	cancel context.CancelFunc
	// transferable: a unix socket, which a re-exec hands over.
	transferable bool
	// parked: the reader waits, between frames, for the pause to end.
	parked bool // guarded by Server.mu
	// reqs are the requests in flight; idleSince is when the last one
	// ended (or the connection began), for the idle timeout.
	reqs      map[*request]struct{} // guarded by Server.mu
	idleSince time.Time             // guarded by Server.mu
	inflight  sync.WaitGroup
}

// request is a request being served.
type request struct {
	req    wire.Request
	ctx    context.Context
	cancel context.CancelCauseFunc
	// streaming: a reply with More was sent; answered: the last reply.
	streaming, answered atomic.Bool
}

// responder sends a request's replies, noting what Pause needs to know.
type responder struct {
	s   *Server
	r   *request
	out *connWriter
}

func (o *responder) Send(rep wire.Reply) bool {
	ok := o.out.Send(rep)
	if !rep.More {
		o.r.answered.Store(true)
	} else if !o.r.streaming.Swap(true) {
		o.s.notifyChanged()
	}
	return ok
}

// refusalLog keeps refused connections from flooding the daemon log: one
// line a minute at most, with the count of those not logged.
type refusalLog struct {
	last   time.Time
	unsaid int
}

func (s *Server) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

func (s *Server) limits() limits {
	l := limits{max: s.MaxConns, perPeer: s.MaxConnsPerPeer, reserved: s.ReservedConns,
		requests: s.MaxRequests, requestsPerPeer: s.MaxRequestsPerPeer}
	if l.max <= 0 {
		l.max = DefaultMaxConns
	}
	if l.perPeer <= 0 {
		l.perPeer = DefaultMaxConnsPerPeer
	}
	if l.reserved <= 0 {
		l.reserved = DefaultReservedConns
	}
	l.reserved = min(l.reserved, l.max/2)
	if l.requests <= 0 {
		l.requests = DefaultMaxRequests
	}
	if l.requestsPerPeer <= 0 {
		l.requestsPerPeer = DefaultMaxRequestsPerPeer
	}
	return l
}

// initLocked makes the server's state on first use (Serve, or an Adopt
// before it).
func (s *Server) initLocked() {
	if s.conns != nil {
		return
	}
	s.conns = make(map[*conn]struct{})
	s.counts.perPeer = make(map[string]int)
	s.counts.requestsPerPeer = make(map[string]int)
	s.slotFreed = make(chan struct{}, 1)
	s.changed = make(chan struct{}, 1)
	s.done = make(chan struct{})
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
}

// Serve accepts connections until Close. It always returns a non-nil error;
// after Close it is net.ErrClosed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.initLocked()
	s.ln = ln
	s.mu.Unlock()
	for {
		if err := s.waitForSlot(); err != nil {
			return err
		}
		c, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return net.ErrClosed
			}
			return err
		}
		s.admit(c)
	}
}

// waitForSlot returns once a connection may be accepted: fewer than
// MaxConns are served, and no pause stopped accepting. Connections
// beyond wait in the kernel's backlog.
func (s *Server) waitForSlot() error {
	max := s.limits().max
	for {
		s.mu.Lock()
		closed, full := s.closed, s.counts.total >= max
		var resumed chan struct{}
		if s.paused != nil && s.paused.acceptStopped {
			resumed = s.paused.resume
		}
		s.mu.Unlock()
		switch {
		case closed:
			return net.ErrClosed
		case resumed != nil:
			select {
			case <-resumed:
			case <-s.done:
			}
		case !full:
			return nil
		default:
			select {
			case <-s.slotFreed:
			case <-s.done:
			}
		}
	}
}

func (s *Server) notifyChanged() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *Server) identify(c net.Conn) (Peer, error) {
	if s.Identify != nil {
		return s.Identify(c)
	}
	return PeerOf(c)
}

// admit identifies the caller of an accepted connection and serves it,
// or refuses it (one error frame, then close) when the caller is over
// its limit.
func (s *Server) admit(c net.Conn) {
	peer, err := s.identify(c)
	if err != nil {
		s.logf("control socket: cannot identify peer: %v", err)
		c.Close()
		return
	}
	privileged := s.Privileged != nil && s.Privileged(peer)
	key := peerKey(peer)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	ok, why := s.limits().admit(s.counts, privileged, key)
	if !ok {
		s.noteRefusalLocked(why)
		s.mu.Unlock()
		refuse(c, why)
		return
	}
	cn := s.trackLocked(c, peer, key, privileged)
	cn.dec = wire.NewDecoder(c)
	s.mu.Unlock()
	go s.serveConn(cn)
}

// refuse tells a caller why its connection is not served, and closes it.
// The frame is small and the connection new, so the write does not block;
// the deadline is there should it ever.
func refuse(c net.Conn, why string) {
	c.SetWriteDeadline(time.Now().Add(time.Second))
	wire.Encode(c, wire.ErrReply(0, wire.Errorf(wire.BadRequest, "%s", why)))
	c.Close()
}

func (s *Server) noteRefusalLocked(why string) {
	now := time.Now()
	if now.Sub(s.refusals.last) < time.Minute {
		s.refusals.unsaid++
		return
	}
	if s.refusals.unsaid > 0 {
		s.logf("control socket: refused a connection: %s (and %d more since the last such line)", why, s.refusals.unsaid)
	} else {
		s.logf("control socket: refused a connection: %s", why)
	}
	s.refusals = refusalLog{last: now}
}

// trackLocked registers a connection to serve; the caller must then
// serveConn it.
func (s *Server) trackLocked(c net.Conn, peer Peer, key string, privileged bool) *conn {
	wt := s.WriteTimeout
	if wt <= 0 {
		wt = 10 * time.Second
	}
	_, isUnix := c.(*net.UnixConn)
	cn := &conn{c: c, peer: peer, key: key, privileged: privileged, out: &connWriter{c: c, timeout: wt},
		transferable: isUnix, reqs: make(map[*request]struct{}), idleSince: time.Now()}
	cn.ctx, cn.cancel = context.WithCancel(s.baseCtx)
	cn.out.hurried.Store(s.paused != nil)
	s.conns[cn] = struct{}{}
	s.counts.total++
	if !privileged {
		s.counts.unprivileged++
		s.counts.perPeer[key]++
	}
	s.wg.Add(1)
	return cn
}

// untrack forgets a connection that has ended, freeing its slot.
func (s *Server) untrack(cn *conn) {
	s.mu.Lock()
	delete(s.conns, cn)
	s.counts.total--
	if !cn.privileged {
		s.counts.unprivileged--
		if s.counts.perPeer[cn.key]--; s.counts.perPeer[cn.key] <= 0 {
			delete(s.counts.perPeer, cn.key)
		}
	}
	s.mu.Unlock()
	select {
	case s.slotFreed <- struct{}{}:
	default:
	}
	s.notifyChanged()
}

// Close stops accepting, closes every connection and waits for handlers.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	s.initLocked()
	close(s.done)
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for cn := range s.conns {
		cn.c.Close()
	}
	s.cancel()
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
	// hurried, during a pause, bounds writes to pauseWriteTimeout.
	hurried atomic.Bool
	dead    bool // guarded by mu
}

func (w *connWriter) Send(r wire.Reply) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dead {
		return false
	}
	if err := wire.EncodeReply(&frameWriter{w: w}, r); err != nil {
		w.dead = true
		w.c.Close()
		return false
	}
	return true
}

// frameWriter writes the frames of one reply, each under a deadline of its
// own set just before it goes out: the timeout bounds a client that does
// not read, not the daemon's work. One deadline set before encoding used
// to cover the encoding and every part of a large answer, and on a busy
// machine a status of 20,000 services took longer than the 10 s: the
// connection was closed without an answer. During a pause the rest of the
// reply shares one bound of pauseWriteTimeout, so that a client that reads
// slowly cannot hold a re-exec up either. Called with w.mu held.
type frameWriter struct {
	w *connWriter
	// hurried is the deadline of the rest of the reply once a pause
	// is seen; zero before.
	hurried time.Time
}

func (f *frameWriter) Write(b []byte) (int, error) {
	w := f.w
	if f.hurried.IsZero() {
		w.c.SetWriteDeadline(time.Now().Add(w.timeout))
		if w.hurried.Load() { // a pause is under way, or began meanwhile
			f.hurried = time.Now().Add(min(w.timeout, pauseWriteTimeout))
		}
	}
	if !f.hurried.IsZero() {
		w.c.SetWriteDeadline(f.hurried)
	}
	return w.c.Write(b)
}

// isDead says whether a write failed, which closed the connection.
func (w *connWriter) isDead() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dead
}

func (s *Server) serveConn(cn *conn) {
	defer s.wg.Done()
	defer s.untrack(cn)
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = 30 * time.Second
	}
	c, out, dec := cn.c, cn.out, cn.dec
	for {
		if !s.beforeRead(cn, idle) {
			break
		}
		frame, err := dec.Next()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if !s.idleFor(cn, idle) {
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
			// EOF: the client is gone, or has closed its side, which
			// ends the connection (docs/protocol.md): the requests in
			// flight are cancelled below, a follow stream with them.
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
		if s.notServed(cn) {
			out.Send(wire.ErrReply(req.ID, reexecNotServed()))
			continue
		}
		if req.Action == CancelAction && req.Service == "" {
			s.cancelRequest(cn, req)
			continue
		}
		s.dispatch(cn, req)
	}
	cn.cancel()
	c.Close()
	cn.inflight.Wait()
}

// beforeRead parks the reader of a connection to hand over while the
// server is paused, then sets the read deadline for the next frame:
// IdleTimeout after the connection last became idle, counted again only
// when a request ends, so that empty frames or garbage cannot keep a
// connection (and its slot) forever. It reports false once the server is
// closed.
func (s *Server) beforeRead(cn *conn, idle time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.paused != nil && cn.transferable && !s.closed {
		resume := s.paused.resume
		cn.parked = true
		s.mu.Unlock()
		s.notifyChanged()
		select {
		case <-resume:
		case <-s.done:
		}
		s.mu.Lock()
		cn.parked = false
	}
	if s.closed {
		return false
	}
	if len(cn.reqs) > 0 {
		cn.c.SetReadDeadline(time.Now().Add(idle))
	} else {
		cn.c.SetReadDeadline(cn.idleSince.Add(idle))
	}
	return true
}

// idleFor says whether a connection whose read deadline passed has been
// idle (no request in flight) for the idle timeout; not when a pause
// moved the deadline.
func (s *Server) idleFor(cn *conn, idle time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused == nil && len(cn.reqs) == 0 && !time.Now().Before(cn.idleSince.Add(idle))
}

// notServed says whether a request read from cn is to be answered with
// reexecNotServed: a pause is under way and cn cannot be handed over.
func (s *Server) notServed(cn *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paused != nil && !cn.transferable
}

// CancelAction ends a request in flight on the same connection: its one
// argument is that request's ID (docs/protocol.md). A client that gave up
// on a request sends it, so the daemon stops working on it at once.
const CancelAction = "cancel"

// errCancelled is the cause of a request's end that its client cancelled.
var errCancelled = errors.New("cancelled by the client")

// cancelRequest serves a cancel: it ends the request of cn with that ID,
// if it is still in flight, and answers ok either way (the request may
// have ended as the cancel crossed its reply).
func (s *Server) cancelRequest(cn *conn, req wire.Request) {
	var id uint64
	if len(req.Args) == 1 {
		id, _ = strconv.ParseUint(req.Args[0], 10, 64)
	}
	if id == 0 {
		cn.out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "cancel: expected the ID of a request in flight on this connection")))
		return
	}
	s.mu.Lock()
	for r := range cn.reqs {
		if r.req.ID == id {
			r.cancel(errCancelled)
		}
	}
	s.mu.Unlock()
	cn.out.Send(wire.OKReply(req.ID, nil))
}

// dispatch serves req in a goroutine of its own, or refuses it when its
// caller has too many in flight.
func (s *Server) dispatch(cn *conn, req wire.Request) {
	s.mu.Lock()
	if ok, why := s.limits().admitRequest(s.counts, cn.privileged, cn.key); !ok {
		s.noteRefusalLocked(why)
		s.mu.Unlock()
		cn.out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%s", why)))
		return
	}
	r := &request{req: req}
	r.ctx, r.cancel = context.WithCancelCause(cn.ctx)
	cn.reqs[r] = struct{}{}
	if !cn.privileged {
		s.counts.requests++
		s.counts.requestsPerPeer[cn.key]++
	}
	s.mu.Unlock()
	cn.inflight.Add(1)
	go func() {
		defer cn.inflight.Done()
		defer r.cancel(nil)
		defer func() {
			// A request is a client's or a peer's bytes: whatever goes
			// wrong in serving it, the daemon (maybe PID 1) goes on.
			if p := recover(); p != nil {
				s.logf("internal error serving %q (recovered, please report): %v\n%s", req.Action, p, debug.Stack())
				cn.out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "internal error serving %q (see the daemon log)", req.Action)))
			}
		}()
		s.Handler.ServeRequest(r.ctx, cn.peer, req, &responder{s: s, r: r, out: cn.out})
		if !r.answered.Load() && errors.Is(context.Cause(r.ctx), errReexec) {
			cn.out.Send(wire.ErrReply(req.ID, reexecStreamEnd()))
		}
		s.mu.Lock()
		delete(cn.reqs, r)
		if len(cn.reqs) == 0 {
			cn.idleSince = time.Now()
		}
		if !cn.privileged {
			s.counts.requests--
			if s.counts.requestsPerPeer[cn.key]--; s.counts.requestsPerPeer[cn.key] <= 0 {
				delete(s.counts.requestsPerPeer, cn.key)
			}
		}
		s.mu.Unlock()
		s.notifyChanged()
	}()
}
