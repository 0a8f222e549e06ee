package activation

import (
	"errors"
	"net/netip"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Poller watches listening sockets from one goroutine with epoll and
// says when a client waits on one (WatchOnce), without accepting it: for
// a service started on connection, the process accepts; for an
// inetd-style one, its controller does (Socket.Accept). Nothing is ever
// taken out of a backlog here, so a watch whose report is lost (a
// re-exec) loses no client. One loop for all services keeps a thousand
// idle sockets from holding a thousand threads.
type Poller struct {
	epfd, wakeFD int

	mu      sync.Mutex
	watches map[uint64]*watch // guarded by mu, by token
	byFD    map[int]uint64    // guarded by mu
	next    uint64            // guarded by mu
	closed  bool              // guarded by mu
	done    chan struct{}
}

type watch struct {
	fd int
	f  func()
}

// NewPoller makes a poller; Run runs it.
func NewPoller() (*Poller, error) {
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
	return &Poller{epfd: epfd, wakeFD: wake, watches: map[uint64]*watch{}, byFD: map[int]uint64{}, done: make(chan struct{})}, nil
}

// WatchOnce calls f once a client waits on the listening socket fd (at
// once if one waits already); f runs on the poller's goroutine and must
// not block. Watching fd again replaces its watch.
func (p *Poller) WatchOnce(fd int, f func()) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("the poller is closed")
	}
	p.cancelLocked(fd)
	p.next++
	tok := p.next
	ev := &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLONESHOT, Fd: int32(uint32(tok)), Pad: int32(uint32(tok >> 32))}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	p.watches[tok] = &watch{fd: fd, f: f}
	p.byFD[fd] = tok
	return nil
}

// Cancel ends fd's watch, if any. Once it returns, the watch's function
// is not called, and fd may be closed.
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

// Run is the poller's loop; it returns once Close was called, or with
// the error that ended it.
func (p *Poller) Run() error {
	defer close(p.done)
	events := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return os.NewSyscallError("epoll_wait", err)
		}
		p.mu.Lock()
		for _, ev := range events[:n] {
			// The token, not the fd: a report for an fd that was
			// cancelled, closed and reused must not reach the new watch.
			tok := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			w, ok := p.watches[tok]
			if !ok {
				continue
			}
			// EPOLLONESHOT disarmed it: it is done.
			delete(p.watches, tok)
			delete(p.byFD, w.fd)
			unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, w.fd, nil)
			w.f()
		}
		closed := p.closed
		p.mu.Unlock()
		if closed {
			return nil
		}
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

// Conn is a connection accepted for an inetd-style service. Its owner
// closes File (the process it is given to holds its own copy).
type Conn struct {
	File *os.File
	// Peer and Local are the two ends' addresses.
	Peer, Local unix.Sockaddr
}

// Accept takes one connection out of the backlog, without waiting: with
// none there, the error is unix.EAGAIN. The socket must be non-blocking
// (SetBlocking(false)); the connection is blocking and close-on-exec.
func (s *Socket) Accept() (Conn, error) {
	for {
		nfd, peer, err := unix.Accept4(s.fd, unix.SOCK_CLOEXEC)
		switch {
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
			continue
		case err != nil:
			return Conn{}, err
		}
		c := Conn{File: os.NewFile(uintptr(nfd), "connection to "+s.Addr()), Peer: peer}
		c.Local, _ = unix.Getsockname(nfd)
		return c, nil
	}
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
