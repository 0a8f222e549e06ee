package local

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A daemon too busy to accept (its backlog full, so a test dial fails)
// keeps its socket: a second daemon is refused with the first one's PID.
func TestSaturatedDaemonKeepsItsSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "socket")
	ln, err := Listen(path, ListenOptions{Group: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The smallest backlog: one connection waits, the next is refused.
	rc, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { err = unix.Listen(int(fd), 0) })
	if err != nil {
		t.Fatal(err)
	}
	var waiting []net.Conn
	defer func() {
		for _, c := range waiting {
			c.Close()
		}
	}()
	for {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err != nil {
			break // saturated: a dial fails, as the second daemon's did
		}
		if waiting = append(waiting, c); len(waiting) > 100 {
			t.Fatal("the backlog never filled")
		}
	}
	var before unix.Stat_t
	unix.Stat(path, &before)

	_, err = Listen(path, ListenOptions{Group: -1})
	want := fmt.Sprintf("%s: socket is in use by a running daemon (PID %d): stop it first (herd -s %s stop root), or give this one another socket (-s)", path, os.Getpid(), path)
	if !errors.Is(err, ErrInUse) || err.Error() != want {
		t.Fatalf("second daemon: %v, want %q", err, want)
	}
	var after unix.Stat_t
	if err := unix.Stat(path, &after); err != nil || after.Ino != before.Ino {
		t.Fatalf("the live socket was replaced or removed (%v)", err)
	}
	// And it is still the first daemon's: it accepts what waits.
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// The lock goes with the daemon: once it has closed, another may start,
// and the lock file is gone.
func TestLockIsReleasedOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "socket")
	ln, err := Listen(path, ListenOptions{Group: -1})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path + ".lock"); err != nil || string(b) != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Fatalf("lock file: %q %v", b, err)
	}
	ln.Close()
	if _, err := os.Lstat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock file left behind: %v", err)
	}
	ln2, err := Listen(path, ListenOptions{Group: -1})
	if err != nil {
		t.Fatal(err)
	}
	ln2.Close()
}

// A re-exec hands the lock's fd over: the new binary takes it as its own
// and a second daemon is still refused.
func TestInheritedLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "socket")
	l, err := LockSocket(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	// A duplicate stands for the fd execve keeps open.
	fd, err := unix.Dup(l.Fd())
	if err != nil {
		t.Fatal(err)
	}
	inherited, err := InheritedLock(fd, path)
	if err != nil {
		t.Fatal(err)
	}
	defer inherited.Release()
	if _, err := LockSocket(path); !errors.Is(err, ErrInUse) {
		t.Fatalf("second daemon after the handover: %v", err)
	}
	// An fd that is not the lock file is refused (and closed).
	other, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := InheritedLock(other, path); err == nil {
		t.Fatal("took /dev/null for the lock")
	}
}

// A lock file that is a symlink or another user's file is not used.
func TestLockFileMustBeOurs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "socket")
	os.Symlink(filepath.Join(dir, "elsewhere"), path+".lock")
	if _, err := LockSocket(path); err == nil {
		t.Fatal("followed a symlink")
	}
	if _, err := os.Lstat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Fatal("created the symlink's target")
	}
}
