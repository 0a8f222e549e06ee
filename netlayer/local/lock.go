package local

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// SocketLock makes a control socket one daemon's own: an exclusive flock
// on SOCKET.lock, held for the daemon's life (and across its re-execs: the
// fd is inherited), with the daemon's PID written inside for the message
// a second daemon gets. A test dial decided this before, and a daemon too
// busy to accept failed it: a second daemon then took its live socket.
type SocketLock struct {
	f    *os.File
	path string
}

// lockAttempts bounds the retries when the lock file is replaced under us
// (a daemon stopping removes it while we open it).
const lockAttempts = 10

// LockSocket takes the lock of the socket at path. If another daemon
// holds it, the error wraps ErrInUse and names that daemon's PID.
func LockSocket(path string) (*SocketLock, error) {
	name := path + ".lock"
	for range lockAttempts {
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := checkLockFile(f); err != nil {
			f.Close()
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			pid := readPID(f)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, inUse(path, pid)
			}
			return nil, fmt.Errorf("%s: lock: %w", name, err)
		}
		// The daemon that held it may have removed the file after we
		// opened it: a lock on a removed file keeps out no one.
		if !sameFile(f, name) {
			f.Close()
			continue
		}
		l := &SocketLock{f: f, path: name}
		if err := l.writePID(); err != nil {
			l.Release()
			return nil, err
		}
		return l, nil
	}
	return nil, fmt.Errorf("%s: replaced %d times while we took it; is another daemon starting and stopping on %s?", name, lockAttempts, path)
}

// InheritedLock takes over the lock of the socket at path that a re-exec
// handed over as fd, after checking that it is that file and still
// locked by us.
func InheritedLock(fd int, path string) (*SocketLock, error) {
	name := path + ".lock"
	f := os.NewFile(uintptr(fd), name)
	if f == nil {
		return nil, fmt.Errorf("%s: handed over as fd %d, which is not open", name, fd)
	}
	if !sameFile(f, name) {
		f.Close()
		return nil, fmt.Errorf("%s: handed over as fd %d, which is another file", name, fd)
	}
	// Locking again through the same open file only confirms our lock;
	// were it not ours, this fails as it would for a second daemon.
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		pid := readPID(f)
		f.Close()
		return nil, fmt.Errorf("%s: handed over but not held: %w", name, inUse(path, pid))
	}
	return &SocketLock{f: f, path: name}, nil
}

// Fd is the lock file's descriptor, to hand over in a re-exec.
func (l *SocketLock) Fd() int { return int(l.f.Fd()) }

// Release removes the lock file (while still holding it, so that no one
// takes a lock on a file about to vanish) and unlocks. It is safe on nil.
func (l *SocketLock) Release() {
	if l == nil {
		return
	}
	if sameFile(l.f, l.path) {
		os.Remove(l.path)
	}
	l.f.Close()
}

func (l *SocketLock) writePID() error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	if _, err := l.f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return fmt.Errorf("%s: %w", l.path, err)
	}
	return nil
}

// inUse is the error for a socket another daemon holds; pid 0 when its
// lock file does not say (it has just taken the lock).
func inUse(path string, pid int) error {
	hint := "stop it first (herd -s " + path + " stop root), or give this one another socket (-s)"
	if pid <= 0 {
		return fmt.Errorf("%s: %w: %s", path, ErrInUse, hint)
	}
	return fmt.Errorf("%s: %w (PID %d): %s", path, ErrInUse, pid, hint)
}

// readPID reads the PID a lock file holds, or 0.
func readPID(f *os.File) int {
	b, _ := io.ReadAll(io.NewSectionReader(f, 0, 32))
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// checkLockFile refuses a lock file that is not a plain file of ours.
func checkLockFile(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != uint32(os.Geteuid()) {
		return fmt.Errorf("%s: not a regular file of uid %d; remove it", f.Name(), os.Geteuid())
	}
	return nil
}

// sameFile says whether the open f is still the file at path.
func sameFile(f *os.File, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Lstat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}
