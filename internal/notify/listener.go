package notify

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrInsecureDir is wrapped when the directory of the sockets is not the
// daemon's, or others may write to it.
var ErrInsecureDir = errors.New("notify directory has insecure permissions")

// maxQueue bounds the Messages waiting for Take; past it, a Message is
// merged into the last one (so a READY=1 is never lost, only the order
// of a flood).
const maxQueue = 16

// maxSocketPath is what fits in sockaddr_un's sun_path, with its NUL.
const maxSocketPath = len(unix.RawSockaddrUnix{}.Path) - 1

// oobSize holds the sender's credentials and as many descriptors as a
// datagram can carry (SCM_MAX_FD, 253): they arrive, to be closed, rather
// than being left to the kernel to drop with MSG_CTRUNC.
var oobSize = unix.CmsgSpace(unix.SizeofUcred) + unix.CmsgSpace(253*4)

// EnsureDir makes dir, the directory of the notify sockets: the daemon's,
// writable by it alone, and open for others to pass through (mode 0711)
// so that a service running as another user can reach its socket, whose
// own mode admits that user only. The control socket's directory is 0700
// and so cannot hold them.
func EnsureDir(dir string) error {
	if err := os.Mkdir(dir, 0o711); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("notify directory: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("notify directory: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != uint32(os.Geteuid()) || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s: %w (it must be a directory of uid %d that only it may write to)", dir, ErrInsecureDir, os.Geteuid())
	}
	if st.Mode&0o111 != 0o111 {
		if err := os.Chmod(dir, 0o711); err != nil {
			return fmt.Errorf("notify directory: %w", err)
		}
	}
	return nil
}

// SocketPath is where the socket of service name goes in dir: the name
// itself, or a digest of it when the path would be too long for a unix
// socket.
func SocketPath(dir, name string) (string, error) {
	p := filepath.Join(dir, name)
	if len(p)+len(".new-0123456789abcdef") <= maxSocketPath {
		return p, nil
	}
	sum := sha256.Sum256([]byte(name))
	p = filepath.Join(dir, "h-"+hex.EncodeToString(sum[:8]))
	if len(p)+len(".new-0123456789abcdef") > maxSocketPath {
		return "", fmt.Errorf("notify directory %s: path too long for a unix socket", dir)
	}
	return p, nil
}

// Rule says which senders are the service's. A datagram is taken only
// from a process whose real uid is UID and that is either in Cgroup (when
// set: the cgroup, as /proc/PID/cgroup names it, is the service's
// identity), or, without cgroups, the main process, in the service's
// session (its first process's: services start with setsid), or a
// descendant of the main process. Without a MainPID nothing is taken;
// with Spawning set, a process is being started whose PID is not known
// yet: datagrams wait (in the kernel's queue) until it is, since the
// process may well say READY=1 before its owner learns its PID.
type Rule struct {
	UID      uint32
	MainPID  int
	Session  int
	Cgroup   string
	Spawning bool
}

// Stats counts what a listener did with the datagrams it read.
type Stats struct {
	Accepted  uint64
	Refused   uint64 // not from a process of the service
	Malformed uint64 // too long, not text, bad assignments
	// LastRefusal and LastMalformed say why, for the log and status.
	LastRefusal, LastMalformed string
}

// Listener is one service's notify socket.
type Listener struct {
	path     string
	conn     *net.UnixConn
	dev, ino uint64
	closed   chan struct{}
	once     sync.Once

	mu      sync.Mutex
	rule    Rule          // guarded by mu
	ruleSet chan struct{} // guarded by mu: closed when a rule with a MainPID is set
	queue   []Message     // guarded by mu
	// signalled: wake was called and no Take followed yet.
	signalled bool  // guarded by mu
	stats     Stats // guarded by mu
}

// Listen binds the socket of service name in dir (see EnsureDir and
// SocketPath) so that uid may send to it and nobody else may (mode 0600,
// owned by uid; gid is its group, -1 to leave it). The socket is bound
// under a temporary name and renamed into place: no one sends to it before
// its mode is set, and a stale socket of an earlier daemon is replaced.
func Listen(dir, name string, uid, gid int) (*Listener, error) {
	path, err := SocketPath(dir, name)
	if err != nil {
		return nil, err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path + ".new-" + hex.EncodeToString(rnd[:])
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: tmp, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	fail := func(err error) (*Listener, error) {
		conn.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("notify socket %s: %w", path, err)
	}
	rc, err := conn.SyscallConn()
	if err != nil {
		return fail(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) }); err != nil || serr != nil {
		return fail(errors.Join(err, serr))
	}
	if uid != os.Geteuid() || gid >= 0 {
		if err := os.Lchown(tmp, uid, gid); err != nil {
			return fail(err)
		}
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return fail(err)
	}
	return &Listener{path: path, conn: conn, dev: st.Dev, ino: st.Ino, closed: make(chan struct{}), ruleSet: make(chan struct{})}, nil
}

// Path is the socket's path, for NOTIFY_SOCKET.
func (l *Listener) Path() string { return l.path }

// SetRule says who may send from now on; a rule with a MainPID, or no
// longer Spawning, lets the datagrams waiting be judged.
func (l *Listener) SetRule(r Rule) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rule == r {
		return
	}
	l.rule = r
	if r.MainPID != 0 || !r.Spawning {
		close(l.ruleSet)
		l.ruleSet = make(chan struct{})
	}
}

// Take returns the Messages received since the last Take, in order.
func (l *Listener) Take() []Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := l.queue
	l.queue, l.signalled = nil, false
	return q
}

// Stats returns the counters.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Close closes the socket and removes its file, unless another socket
// has taken its place. Serve returns.
func (l *Listener) Close() {
	l.once.Do(func() {
		close(l.closed)
		l.conn.Close()
		var st unix.Stat_t
		if unix.Lstat(l.path, &st) == nil && st.Dev == l.dev && st.Ino == l.ino {
			os.Remove(l.path)
		}
	})
}

// Serve reads datagrams until Close; it calls wake (from its own
// goroutine, never holding a lock) when Messages wait for Take, or the
// counters of refused or malformed datagrams grew, after a Take. Run it
// on a goroutine of its own.
func (l *Listener) Serve(wake func()) {
	buf := make([]byte, MaxDatagram+1)
	oob := make([]byte, oobSize)
	for {
		n, oobn, flags, _, err := l.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			select {
			case <-l.closed:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ENOBUFS and the like: the next datagram may do
		}
		cred, fds := controlOf(oob[:oobn])
		rule, ok := l.waitRule()
		if ok && l.take(buf[:n], flags, cred, rule) {
			wake()
		}
		// Closed only now: a sender that waits for its descriptor to
		// close (sd_notify_barrier) stays alive while it is judged.
		for _, fd := range fds {
			unix.Close(fd)
		}
		if !ok {
			return
		}
	}
}

// waitRule waits while a process is being spawned whose PID is not
// known yet (or until the listener is closed: ok false).
func (l *Listener) waitRule() (Rule, bool) {
	for {
		l.mu.Lock()
		r, ch := l.rule, l.ruleSet
		l.mu.Unlock()
		if r.MainPID != 0 || !r.Spawning {
			return r, true
		}
		select {
		case <-ch:
		case <-l.closed:
			return Rule{}, false
		}
	}
}

// take judges one datagram and queues what it says; it reports whether
// the owner must be woken.
func (l *Listener) take(b []byte, flags int, cred *unix.Ucred, rule Rule) bool {
	refuse := func(why string) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.stats.Refused++
		l.stats.LastRefusal = why
		// The owner hears of it (to log it), once per Take.
		wake := !l.signalled
		l.signalled = true
		return wake
	}
	if cred == nil {
		return refuse("a datagram without credentials")
	}
	if err := CheckSender(*cred, rule); err != nil {
		return refuse(err.Error())
	}
	var m Message
	var err error
	if flags&unix.MSG_TRUNC != 0 || len(b) > MaxDatagram {
		err = fmt.Errorf("%w: more than %d bytes", ErrMalformed, MaxDatagram)
	} else {
		m, err = Parse(b)
	}
	m.Sender = int(cred.Pid)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.stats.Malformed++
		l.stats.LastMalformed = fmt.Sprintf("from process %d: %v", cred.Pid, err)
	} else {
		l.stats.Accepted++
	}
	if m == (Message{Sender: m.Sender}) {
		if err == nil {
			return false // nothing to tell (BARRIER=1, FDSTORE=1, ...)
		}
		wake := !l.signalled // to log the malformed one
		l.signalled = true
		return wake
	}
	if len(l.queue) < maxQueue {
		l.queue = append(l.queue, m)
	} else {
		l.queue[len(l.queue)-1].merge(m)
	}
	wake := !l.signalled
	l.signalled = true
	return wake
}

// controlOf returns the credentials and the descriptors of a datagram's
// control messages.
func controlOf(oob []byte) (*unix.Ucred, []int) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, nil
	}
	var cred *unix.Ucred
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch msgs[i].Header.Type {
		case unix.SCM_CREDENTIALS:
			if c, err := unix.ParseUnixCredentials(&msgs[i]); err == nil {
				cred = c
			}
		case unix.SCM_RIGHTS:
			if r, err := unix.ParseUnixRights(&msgs[i]); err == nil {
				fds = append(fds, r...)
			}
		}
	}
	return cred, fds
}
