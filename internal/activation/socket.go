package activation

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/shepherd-go/shepherd/services"
	"golang.org/x/sys/unix"
)

// Socket is a listening socket the daemon holds for a service: bound and
// listening, close-on-exec (a process gets it by being given it), in
// blocking mode unless the poller accepts on it.
type Socket struct {
	Endpoint services.Endpoint
	fd       int
	// Inode is the socket's (as /proc/PID/fd and ss(8) show it).
	Inode uint64
	// dev and ino are the unix socket file's, to remove it at Close only
	// if it is still the one we bound.
	dev, ino uint64
}

// FD is the socket's descriptor, -1 once closed.
func (s *Socket) FD() int { return s.fd }

// Addr is where it listens: "127.0.0.1:8080", "[::1]:8080" or a path.
func (s *Socket) Addr() string {
	if s.Endpoint.Unix != "" {
		return s.Endpoint.Unix
	}
	return s.Endpoint.TCP
}

// Bind creates, binds and listens on e's socket, as the daemon (before
// any process of the service runs, whoever it runs as). A unix socket
// file is given e's mode, owner and group before it listens (so that no
// client connects under a wider mode); a stale file (a socket nobody
// listens on) is replaced, anything else at the path is an error, and
// missing parent directories are made (0755, as systemd does). The error
// names the endpoint: "listen tcp 127.0.0.1:8080: bind: address already in
// use".
func Bind(e services.Endpoint) (*Socket, error) {
	s, err := bind(e)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", e, err)
	}
	return s, nil
}

func bind(e services.Endpoint) (*Socket, error) {
	backlog := e.Backlog
	if backlog <= 0 {
		backlog = services.DefaultBacklog
	}
	var fd int
	var err error
	s := &Socket{Endpoint: e, fd: -1}
	if e.Unix != "" {
		fd, err = bindUnix(s, e)
	} else {
		fd, err = bindTCP(e)
	}
	if err != nil {
		return nil, err
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		s.removeFile()
		return nil, os.NewSyscallError("listen", err)
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil {
		s.Inode = st.Ino
	}
	s.fd = fd
	return s, nil
}

func bindTCP(e services.Endpoint) (int, error) {
	ap, err := netip.ParseAddrPort(e.TCP)
	if err != nil {
		return -1, err
	}
	family := unix.AF_INET6
	var sa unix.Sockaddr
	if ap.Addr().Is4() {
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		sa = &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	// A restarted daemon (or service) binds again at once, whatever
	// connections of the last one are still in TIME_WAIT.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("setsockopt", err)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	return fd, nil
}

func bindUnix(s *Socket, e services.Endpoint) (int, error) {
	path := e.Unix
	if err := removeStale(path); err != nil {
		return -1, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return -1, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("bind", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		unix.Close(fd)
		return -1, fmt.Errorf("%s changed under us after bind", path)
	}
	s.dev, s.ino = st.Dev, st.Ino
	fail := func(err error) (int, error) {
		unix.Close(fd)
		s.removeFile()
		return -1, err
	}
	uid, gid := -1, -1
	if e.Owner != nil {
		uid = int(*e.Owner)
	}
	if e.Group != nil {
		gid = int(*e.Group)
	}
	if uid >= 0 || gid >= 0 {
		if err := os.Lchown(path, uid, gid); err != nil {
			return fail(err)
		}
	}
	mode := e.Mode
	if mode == 0 {
		mode = services.DefaultSocketMode
	}
	if err := os.Chmod(path, os.FileMode(mode)); err != nil {
		return fail(err)
	}
	return fd, nil
}

// removeStale removes a unix socket file that nobody listens on; another
// listener's socket, or a file of another kind, is an error.
func removeStale(path string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); errors.Is(err, unix.ENOENT) {
		return nil
	} else if err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("%s exists and is not a socket; remove it or listen elsewhere", path)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	switch err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); {
	case err == nil, errors.Is(err, unix.EAGAIN):
		return fmt.Errorf("%s: another program listens there", path)
	case errors.Is(err, unix.ECONNREFUSED):
		// Left by a listener that is gone.
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	default:
		return &os.PathError{Op: "connect", Path: path, Err: err}
	}
}

// removeFile removes the unix socket file if it is still the one bound.
func (s *Socket) removeFile() {
	if s.Endpoint.Unix == "" || s.ino == 0 {
		return
	}
	var st unix.Stat_t
	if unix.Lstat(s.Endpoint.Unix, &st) == nil && st.Dev == s.dev && st.Ino == s.ino {
		os.Remove(s.Endpoint.Unix)
	}
	s.ino = 0
}

// Close stops listening: the socket is closed (connections waiting in its
// backlog are refused) and a unix socket file removed if it is still
// ours. Closing twice does nothing.
func (s *Socket) Close() error {
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	s.removeFile()
	return err
}

// SetBlocking puts the socket in blocking mode (for a process that
// accepts on it, as sd_listen_fds(3) passes them) or non-blocking (for
// the poller's accepts). The mode belongs to the open socket, which the
// daemon and its process share.
func (s *Socket) SetBlocking(on bool) error { return unix.SetNonblock(s.fd, !on) }

// Saved is a socket as a re-exec hands it over: its descriptor, inherited
// by the new binary, and what it was bound for.
type Saved struct {
	FD       int               `json:"fd"`
	Endpoint services.Endpoint `json:"endpoint"`
	Dev      uint64            `json:"dev,omitempty"`
	Ino      uint64            `json:"ino,omitempty"`
}

// Save describes s for a re-exec; the caller clears close-on-exec on
// s.FD() just before execve.
func (s *Socket) Save() Saved {
	return Saved{FD: s.fd, Endpoint: s.Endpoint, Dev: s.dev, Ino: s.ino}
}

// Inherit takes back a socket a re-exec handed over, making it
// close-on-exec again. The descriptor must be a listening socket.
func Inherit(sv Saved) (*Socket, error) {
	accepting, err := unix.GetsockoptInt(sv.FD, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil || accepting != 1 {
		return nil, fmt.Errorf("listen %s: handed-over fd %d is not a listening socket", sv.Endpoint, sv.FD)
	}
	unix.CloseOnExec(sv.FD)
	s := &Socket{Endpoint: sv.Endpoint, fd: sv.FD, dev: sv.Dev, ino: sv.Ino}
	var st unix.Stat_t
	if unix.Fstat(sv.FD, &st) == nil {
		s.Inode = st.Ino
	}
	return s, nil
}

// Reconcile makes have (the sockets held) match want (the endpoints of
// the service's current definition): a socket whose endpoint did not
// change is kept as it is (so that connections in its backlog survive a
// restart), the others are closed and the new endpoints bound. On an
// error, which names the endpoint, what this call bound is closed again
// and the sockets kept are returned with it.
func Reconcile(have []*Socket, want []services.Endpoint) ([]*Socket, error) {
	out := make([]*Socket, len(want))
	used := make([]bool, len(have))
	var bound []*Socket
	for i, e := range want {
		for j, s := range have {
			if !used[j] && s.fd >= 0 && reflect.DeepEqual(s.Endpoint, e) {
				out[i], used[j] = s, true
				break
			}
		}
	}
	// Endpoints that changed free their address before the new bind:
	// a new backlog or mode on the same address needs it.
	var stale []*Socket
	for j, s := range have {
		if !used[j] {
			stale = append(stale, s)
		}
	}
	for _, s := range stale {
		s.Close()
	}
	for i, e := range want {
		if out[i] != nil {
			continue
		}
		s, err := Bind(e)
		if err != nil {
			for _, b := range bound {
				b.Close()
			}
			return keptOnly(out), err
		}
		out[i] = s
		bound = append(bound, s)
	}
	return out, nil
}

func keptOnly(socks []*Socket) []*Socket {
	var out []*Socket
	for _, s := range socks {
		if s != nil && s.fd >= 0 {
			out = append(out, s)
		}
	}
	return out
}

// ListenEnv is what a process given socks (as fds 3, 4, ...) finds in its
// environment, as sd_listen_fds(3) reads it: LISTEN_FDS and
// LISTEN_FDNAMES. LISTEN_PID, the process's own PID, is set by the
// trampoline in the process itself (proc.Settings.ListenPID).
func ListenEnv(socks []*Socket) map[string]string {
	names := make([]string, len(socks))
	for i, s := range socks {
		names[i] = s.Endpoint.Name
	}
	return map[string]string{"LISTEN_FDS": strconv.Itoa(len(socks)), "LISTEN_FDNAMES": strings.Join(names, ":")}
}
