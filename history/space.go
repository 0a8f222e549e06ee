package history

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// A full or failing disk must not end the daemon. pebble (v2.1) cannot go
// on after a failed write: a commit whose WAL write or sync fails calls
// Logger.Fatalf ("fatal commit error"), a failed MANIFEST write calls it
// too, from a flush or compaction goroutine, and the next commit after a
// WAL error panics in the commit pipeline. The store therefore
//
//   - refuses a write before pebble sees it when the filesystem has less
//     than Reserve free (plus what the write needs): the daemon holds the
//     events and tries again, and pebble never meets ENOSPC from our own
//     writes;
//   - keeps a ballast file of BallastSize in the store: when pebble meets
//     ENOSPC anyway (something else, a service's log, took the space
//     between our check and a flush), vfs.OnDiskFull removes the ballast
//     and pebble's write is retried into the room it left. Until the
//     ballast can be put back, writes are refused as above;
//   - turns Fatalf into a store that is broken but alive: the goroutine
//     that called it ends (runtime.Goexit: pebble's own flush or
//     compaction goroutine, or the one Store runs each write in), the
//     daemon goes on, reads still work, and every later write returns
//     ErrBroken without reaching pebble (a restart or re-exec opens the
//     store afresh; pebble replays its WAL).

// Reserve is the free space below which the store refuses to write, and
// BallastSize the size of its ballast file. 4 MiB each cover what pebble
// may write on its own once we stop: the flush of a full memtable (2 MiB
// of events, less once compressed), a manifest edit, the WAL's tail.
const (
	Reserve     = 4 << 20
	BallastSize = 4 << 20
)

// ballastName is the ballast's file in the store's directory (pebble
// leaves files it does not know alone).
const ballastName = "BALLAST"

// ErrNoSpace is wrapped by the error of a write refused because the
// store's filesystem is (nearly) full; nothing was written.
var ErrNoSpace = errors.New("not enough free space")

// ErrBroken is wrapped by the error of every write once pebble reported a
// write error it cannot recover from; nothing was written.
var ErrBroken = errors.New("history store failed")

type spaceError struct {
	path       string
	free, need int64
}

func (e *spaceError) Error() string {
	return fmt.Sprintf("history store %s: only %s free on its filesystem, %s needed: free some space there (the services' logs may be what filled it)",
		e.path, mib(e.free), mib(e.need))
}

func (e *spaceError) Unwrap() error { return ErrNoSpace }

type brokenError struct {
	path  string
	cause string
}

func (e *brokenError) Error() string {
	return fmt.Sprintf("history store %s failed: %s; it is not written until the daemon is restarted (or herd upgrade)", e.path, e.cause)
}

func (e *brokenError) Unwrap() error { return ErrBroken }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// guard is the part of Store that keeps pebble's failures in the store.
type guard struct {
	path        string
	logf        func(string, ...any)
	reserve     int64
	ballastSize int64
	noPreflight bool // tests: let pebble meet a full disk

	mu      sync.Mutex // serializes the ballast's re-creation
	ballast atomic.Bool
	// noBallast: the filesystem refused the ballast for another reason
	// than space; the store goes on without one.
	noBallast atomic.Bool
	broken    atomic.Pointer[brokenError]
	// lastBackground rate-limits the log of pebble's background errors.
	lastBackground atomic.Int64
}

func (g *guard) ballastPath() string { return filepath.Join(g.path, ballastName) }

// Broken returns the reason the store can no longer be written, or nil.
func (g *guard) brokenErr() error {
	if b := g.broken.Load(); b != nil {
		return b
	}
	return nil
}

// fail marks the store broken (the first cause is kept) and says so.
func (g *guard) fail(cause string) {
	if g.broken.CompareAndSwap(nil, &brokenError{path: g.path, cause: cause}) {
		g.logf("history: %v", g.broken.Load())
	}
}

// run calls f, a pebble call, in a goroutine of its own and returns its
// error; when pebble ends that goroutine (Fatalf) or panics in it, the
// store is broken and that is the error.
func (g *guard) run(f func() error) error {
	done := make(chan error, 1)
	go func() {
		returned := false
		defer func() {
			if returned {
				return
			}
			if r := recover(); r != nil {
				g.fail(fmt.Sprint(r))
			}
			g.fail("pebble stopped a write") // Goexit from Fatalf, which said why first
			done <- g.brokenErr()
		}()
		err := f()
		returned = true
		done <- err
	}()
	return <-done
}

// write runs f, a write needing about need bytes, if the store is sound
// and there is room for it.
func (g *guard) write(need int, f func() error) error {
	if err := g.brokenErr(); err != nil {
		return err
	}
	if err := g.room(int64(need)); err != nil {
		return err
	}
	return g.run(f)
}

// free is the space the daemon may use on the store's filesystem: root
// may use the blocks reserved for it.
func (g *guard) free() (int64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(g.path, &st); err != nil {
		return 0, false
	}
	avail := st.Bavail
	if os.Geteuid() == 0 {
		avail = st.Bfree
	}
	return int64(avail) * st.Bsize, true
}

// room refuses a write of need bytes when it would leave less than the
// reserve free, or when the ballast is gone and cannot be put back.
func (g *guard) room(need int64) error {
	free, ok := g.free()
	if !ok {
		return nil // cannot tell: let pebble try
	}
	want := g.reserve + need
	if g.ballastSize > 0 && !g.ballast.Load() && !g.noBallast.Load() {
		g.mu.Lock()
		if !g.ballast.Load() && free >= want+g.ballastSize {
			if err := g.placeBallast(); err == nil {
				free -= g.ballastSize
			}
		}
		placed := g.ballast.Load() || g.noBallast.Load()
		g.mu.Unlock()
		if !placed && !g.noPreflight {
			return &spaceError{path: g.path, free: free, need: want + g.ballastSize}
		}
	}
	if free < want && !g.noPreflight {
		return &spaceError{path: g.path, free: free, need: want}
	}
	return nil
}

// placeBallast writes the ballast file (its blocks allocated, not a
// sparse file). A filesystem that refuses it for another reason than
// space gets no ballast, rather than no history.
func (g *guard) placeBallast() error {
	path := g.ballastPath()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, fileMode)
	if err == nil {
		err = unix.Fallocate(int(f.Fd()), 0, 0, g.ballastSize)
		if errors.Is(err, unix.EOPNOTSUPP) {
			err = writeZeros(f, g.ballastSize)
		}
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		os.Remove(path)
		if !errors.Is(err, unix.ENOSPC) && !errors.Is(err, unix.EDQUOT) {
			g.logf("history: cannot place the store's ballast file %s (%v); the store goes on without one", path, err)
			g.noBallast.Store(true)
		}
		return err
	}
	g.ballast.Store(true)
	return nil
}

func writeZeros(f *os.File, n int64) error {
	buf := make([]byte, 1<<16)
	for n > 0 {
		k, err := f.Write(buf[:min(int64(len(buf)), n)])
		if err != nil {
			return err
		}
		n -= int64(k)
	}
	return nil
}

// diskFull is pebble's OnDiskFull callback: pebble met ENOSPC and retries
// its write once this returns. Removing the ballast makes that room.
func (g *guard) diskFull() {
	if !g.ballast.Load() {
		return
	}
	if err := os.Remove(g.ballastPath()); err != nil {
		g.logf("history: the disk is full and the ballast %s cannot be removed: %v", g.ballastPath(), err)
		return
	}
	g.ballast.Store(false)
	g.logf("history: the filesystem of %s is full: its %s ballast was removed so that the store's own writes complete; events are held until there is room again", g.path, mib(g.ballastSize))
}

// background logs pebble's background errors (a flush or compaction that
// failed; pebble tries again), at most once a minute.
func (g *guard) background(err error) {
	now := time.Now().UnixNano()
	if last := g.lastBackground.Load(); now-last < int64(time.Minute) || !g.lastBackground.CompareAndSwap(last, now) {
		return
	}
	g.logf("history: store %s: %v", g.path, err)
}

// pebbleLogger is the store's pebble.Logger: informational chatter is
// dropped, errors go to the daemon log, and Fatalf breaks the store
// instead of the daemon.
type pebbleLogger struct{ g *guard }

func (pebbleLogger) Infof(string, ...any) {}

func (l pebbleLogger) Errorf(f string, args ...any) { l.g.logf("history: pebble: "+f, args...) }

func (l pebbleLogger) Fatalf(f string, args ...any) {
	l.g.fail(fmt.Sprintf(f, args...))
	runtime.Goexit()
}
