package activation

import (
	"errors"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Poller watches listening sockets from one goroutine with epoll: for a
// first client (WatchOnce, start on connection) or to accept every
// connection (Accept, inetd style). One loop for all services keeps a
// thousand idle sockets from holding a thousand threads.
type Poller struct {
	epfd, wakeFD int
	logf         func(format string, args ...any)

	mu      sync.Mutex
	watches map[uint64]*watch // guarded by mu, by token
	byFD    map[int]uint64    // guarded by mu
	next    uint64            // guarded by mu
	closed  bool              // guarded by mu
	done    chan struct{}
}

type watch struct {
	fd     int
	onOnce func()
	onConn func(Conn)
	// paused: accepting failed for want of descriptors; retried later.
	paused bool
}

// Conn is a connection accepted for an inetd-style service. Its owner
// closes File (the process it is given to holds its own copy).
type Conn struct {
	File *os.File
	// Peer and Local are the two ends' addresses.
	Peer, Local unix.Sockaddr
}

// acceptBatch bounds the accepts of one wake-up on one socket, so that a
// flood on one service does not starve the others.
const acceptBatch = 64

// acceptRetry is how long accepting pauses when the daemon is out of
// descriptors (EMFILE): the connections wait in the backlog meanwhile,
// rather than the loop spinning on them.
const acceptRetry = 100 * time.Millisecond

// NewPoller makes a poller; Run runs it. logf reports what goes wrong
// while accepting.
func NewPoller(logf func(format string, args ...any)) (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	// Token 0 is the wake-up.
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN}); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &Poller{epfd: epfd, wakeFD: wake, logf: logf, watches: map[uint64]*watch{}, byFD: map[int]uint64{}, done: make(chan struct{})}, nil
}

// WatchOnce calls f once a client waits on the listening socket fd,
// without accepting it; f runs on the poller's goroutine and must not
// block. Watching fd again replaces its watch.
func (p *Poller) WatchOnce(fd int, f func()) error {
	return p.add(&watch{fd: fd, onOnce: f}, unix.EPOLLIN|unix.EPOLLONESHOT)
}

// Accept accepts every connection on the listening socket fd, which it
// makes non-blocking, and hands each to f (on the poller's goroutine: f
// must not block; it owns the connection). Watching fd again replaces
// its watch.
func (p *Poller) Accept(fd int, f func(Conn)) error {
	if err := unix.SetNonblock(fd, true); err != nil {
		return os.NewSyscallError("fcntl", err)
	}
	return p.add(&watch{fd: fd, onConn: f}, unix.EPOLLIN)
}

func (p *Poller) add(w *watch, events uint32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("the poller is closed")
	}
	p.cancelLocked(w.fd)
	p.next++
	tok := p.next
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, w.fd, event(tok, events)); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	p.watches[tok] = w
	p.byFD[w.fd] = tok
	return nil
}

// event makes an epoll event carrying token tok (in the 64 bits of its
// data, which x/sys splits into Fd and Pad).
func event(tok uint64, events uint32) *unix.EpollEvent {
	return &unix.EpollEvent{Events: events, Fd: int32(uint32(tok)), Pad: int32(uint32(tok >> 32))}
}

func tokenOf(ev unix.EpollEvent) uint64 { return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32 }

// Cancel ends fd's watch, if any. Once it returns, the watch's function
// is not called again, and fd may be closed.
func (p *Poller) Cancel(fd int) {
	p.mu.Lock()
	p.cancelLocked(fd)
	p.mu.Unlock()
}

func (p *Poller) cancelLocked(fd int) {
	tok, ok := p.byFD[fd]
	if !ok {
		return
	}
	delete(p.byFD, fd)
	delete(p.watches, tok)
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// Watching reports whether fd is watched, for tests.
func (p *Poller) Watching(fd int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.byFD[fd]
	return ok
}

// Run is the poller's loop; it returns once Close was called. Watches
// are cancelled then (their sockets are their owners' to close).
func (p *Poller) Run() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			p.logf("socket activation: epoll_wait: %v; no socket is watched any more", err)
			return
		}
		p.mu.Lock()
		for _, ev := range events[:n] {
			tok := tokenOf(ev)
			if tok == 0 {
				continue
			}
			if w, ok := p.watches[tok]; ok {
				p.readyLocked(tok, w)
			}
		}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return
		}
	}
}

func (p *Poller) readyLocked(tok uint64, w *watch) {
	if w.onOnce != nil {
		// EPOLLONESHOT disarmed it; it is done.
		delete(p.watches, tok)
		delete(p.byFD, w.fd)
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, w.fd, nil)
		w.onOnce()
		return
	}
	for range acceptBatch {
		nfd, peer, err := unix.Accept4(w.fd, unix.SOCK_CLOEXEC)
		switch {
		case err == nil:
			c := Conn{File: os.NewFile(uintptr(nfd), "connection"), Peer: peer}
			c.Local, _ = unix.Getsockname(nfd)
			w.onConn(c)
			continue
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			return
		case errors.Is(err, unix.ECONNABORTED):
			continue
		case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE), errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.ENOMEM):
			if !w.paused {
				p.logf("socket activation: accept on fd %d: %v; connections wait in the backlog, accepting again in %v", w.fd, err, acceptRetry)
			}
			w.paused = true
			unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, w.fd, nil)
			time.AfterFunc(acceptRetry, func() { p.resume(tok, w) })
			return
		default:
			p.logf("socket activation: accept on fd %d: %v", w.fd, err)
			return
		}
	}
}

// resume watches again a socket whose accepting paused, unless its
// watch was cancelled meanwhile.
func (p *Poller) resume(tok uint64, w *watch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.watches[tok] != w || p.closed {
		return
	}
	w.paused = false
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, w.fd, event(tok, unix.EPOLLIN)); err != nil {
		p.logf("socket activation: watch fd %d again: %v", w.fd, err)
	}
}

// Close ends Run and waits for it. The sockets stay open.
func (p *Poller) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for fd := range p.byFD {
		p.cancelLocked(fd)
	}
	p.mu.Unlock()
	unix.Write(p.wakeFD, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	<-p.done
	unix.Close(p.epfd)
	unix.Close(p.wakeFD)
}

// ConnEnv is what the process of an inetd-style connection finds in its
// environment: UCSPI's PROTO, TCPLOCALIP, TCPLOCALPORT, TCPREMOTEIP and
// TCPREMOTEPORT (which GNU Shepherd's inetd services and inetutils' inetd
// set), REMOTE_ADDR and REMOTE_PORT (as git-daemon and CGI name them),
// and for a unix socket PROTO=UNIX with the peer's credentials
// (UNIXREMOTEPID, UNIXREMOTEEUID, UNIXREMOTEEGID).
func ConnEnv(c Conn) map[string]string {
	env := map[string]string{}
	ipPort := func(sa unix.Sockaddr) (string, string, bool) {
		switch a := sa.(type) {
		case *unix.SockaddrInet4:
			return netipString(a.Addr[:]), strconv.Itoa(a.Port), true
		case *unix.SockaddrInet6:
			return netipString(a.Addr[:]), strconv.Itoa(a.Port), true
		}
		return "", "", false
	}
	if ip, port, ok := ipPort(c.Peer); ok {
		env["PROTO"] = "TCP"
		env["TCPREMOTEIP"], env["TCPREMOTEPORT"] = ip, port
		env["REMOTE_ADDR"], env["REMOTE_PORT"] = ip, port
		if ip, port, ok := ipPort(c.Local); ok {
			env["TCPLOCALIP"], env["TCPLOCALPORT"] = ip, port
		}
		return env
	}
	env["PROTO"] = "UNIX"
	if c.File != nil {
		if cred, err := unix.GetsockoptUcred(int(c.File.Fd()), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			env["UNIXREMOTEPID"] = strconv.Itoa(int(cred.Pid))
			env["UNIXREMOTEEUID"] = strconv.FormatUint(uint64(cred.Uid), 10)
			env["UNIXREMOTEEGID"] = strconv.FormatUint(uint64(cred.Gid), 10)
		}
	}
	return env
}

// netipString prints an IPv4 or IPv6 address, an IPv4-mapped one as IPv4.
func netipString(b []byte) string {
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap().String()
}
