package history

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// smallFS mounts a tmpfs of size bytes for the test (root only: CI runs
// as root) and returns its directory.
func smallFS(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// fill writes a file on dir's filesystem until it is full, and returns
// its path: removing it gives the space back.
func fill(t *testing.T, dir string) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "fill")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	path := f.Name()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, unix.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	// The last pages, smaller than the buffer.
	for {
		if _, err := f.Write(buf[:512]); err != nil {
			break
		}
	}
	return path
}

// logBuffer collects what a store says.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) logf(f string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(strings.ReplaceAll(fmt.Sprintf(f, args...), "\n", " ")))
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// batch is n events from seq on, each with 1 KiB of message.
func batch(seq, n int) []Event {
	var evs []Event
	for i := range n {
		evs = append(evs, Event{Seq: uint64(seq + i), Time: t0.Add(time.Duration(seq + i)), Service: "web", Kind: KindStart, Message: strings.Repeat("m", 1024)})
	}
	return evs
}

func count(t *testing.T, s *Store) int {
	t.Helper()
	evs, err := s.Scan(Query{})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestFullDiskRefusesWritesAndRecovers: below the reserve a write is
// refused before pebble sees it (nothing written, nothing broken, reads
// go on), and once space is back writes work again.
func TestFullDiskRefusesWritesAndRecovers(t *testing.T) {
	dir := smallFS(t, "16m")
	path := filepath.Join(dir, "history")
	var log logBuffer
	s, err := OpenWith(path, Options{Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(batch(1, 10), true); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(path, ballastName)); err != nil || fi.Size() != BallastSize {
		t.Fatalf("ballast: %v %v", fi, err)
	}
	filler := fill(t, dir)
	err = s.Append(batch(11, 10), true)
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "history store "+path+": only 0.0 MiB free on its filesystem") {
		t.Fatalf("append on a full disk: %v", err)
	}
	if err := s.Write(nil, []Record{{Kind: "grant", Key: "a", Value: []byte("x")}}, true); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("record on a full disk: %v", err)
	}
	if err := s.Writable(0); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Writable on a full disk: %v", err)
	}
	if n := count(t, s); n != 10 {
		t.Fatalf("%d events readable on a full disk, want 10", n)
	}
	os.Remove(filler)
	if err := s.Append(batch(11, 10), true); err != nil {
		t.Fatalf("append once space is back: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenWith(path, Options{Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := count(t, s); n != 20 {
		t.Fatalf("%d events after reopening, want 20", n)
	}
}

// TestBallastLetsPebbleFinishOnAFullDisk: when pebble meets ENOSPC itself
// (the disk filled between the check and its write), the ballast is
// removed and pebble's write completes; then writes are refused until
// the ballast can be put back.
func TestBallastLetsPebbleFinishOnAFullDisk(t *testing.T) {
	dir := smallFS(t, "16m")
	path := filepath.Join(dir, "history")
	var log logBuffer
	s, err := OpenWith(path, Options{Logf: log.logf, noPreflight: true})
	if err != nil {
		t.Fatal(err)
	}
	filler := fill(t, dir)
	if err := s.Append(batch(1, 200), true); err != nil {
		t.Fatalf("append with the ballast to give: %v\n%s", err, &log)
	}
	if !strings.Contains(log.String(), "history: the filesystem of "+path+" is full: its 4.0 MiB ballast was removed") {
		t.Errorf("log: %s", &log)
	}
	if _, err := os.Stat(filepath.Join(path, ballastName)); !os.IsNotExist(err) {
		t.Errorf("ballast still there: %v", err)
	}
	s.g.noPreflight = false
	if err := s.Writable(100); !errors.Is(err, ErrNoSpace) {
		t.Errorf("without its ballast and room for it, the store should refuse writes: %v", err)
	}
	os.Remove(filler)
	if err := s.Append(batch(201, 1), true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(path, ballastName)); err != nil {
		t.Errorf("ballast not put back: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenWith(path, Options{Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := count(t, s); n != 201 {
		t.Fatalf("%d events after reopening, want 201", n)
	}
}

// TestFailedWriteBreaksTheStoreNotTheProcess: pebble cannot go on after a
// failed WAL write (it calls Fatalf, whose default is os.Exit). The store
// is then broken: the write and every later one fail with ErrBroken,
// reads go on, and the process lives.
func TestFailedWriteBreaksTheStoreNotTheProcess(t *testing.T) {
	dir := smallFS(t, "16m")
	path := filepath.Join(dir, "history")
	var log logBuffer
	s, err := OpenWith(path, Options{Logf: log.logf, noPreflight: true, noBallast: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(batch(1, 1), true); err != nil {
		t.Fatal(err)
	}
	fill(t, dir)
	err = s.Append(batch(2, 200), true)
	if !errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "it is not written until the daemon is restarted") {
		t.Fatalf("append that pebble cannot write: %v", err)
	}
	if err := s.Append(batch(202, 1), true); !errors.Is(err, ErrBroken) {
		t.Fatalf("append to a broken store: %v", err)
	}
	if err := s.Write(nil, []Record{{Kind: "grant", Key: "a", Value: []byte("x")}}, true); !errors.Is(err, ErrBroken) {
		t.Fatalf("record in a broken store: %v", err)
	}
	if n := count(t, s); n < 1 {
		t.Fatalf("%d events readable in a broken store", n)
	}
	if err := s.Close(); !errors.Is(err, ErrBroken) {
		t.Fatalf("close of a broken store: %v", err)
	}
	if !strings.Contains(log.String(), "history store "+path+" failed: pebble: fatal commit error") {
		t.Errorf("log: %s", &log)
	}
}

// TestOpenOnAFullDisk: a store with its ballast opens on a full disk
// (pebble's own writes at Open take the ballast's room) and refuses
// writes; a new one cannot be created there, and says why, not that it
// is corrupt.
func TestOpenOnAFullDisk(t *testing.T) {
	dir := smallFS(t, "16m")
	path := filepath.Join(dir, "history")
	var log logBuffer
	s, err := OpenWith(path, Options{Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(batch(1, 10), true); err != nil {
		t.Fatal(err)
	}
	s.Close()
	fill(t, dir)
	s, err = OpenWith(path, Options{Logf: log.logf})
	if err != nil {
		t.Fatalf("reopen on a full disk: %v\n%s", err, &log)
	}
	if n := count(t, s); n != 10 {
		t.Errorf("%d events, want 10", n)
	}
	if err := s.Append(batch(11, 1), true); !errors.Is(err, ErrNoSpace) {
		t.Errorf("append: %v", err)
	}
	s.Close()

	fill(t, dir)
	fresh := filepath.Join(dir, "fresh")
	_, err = OpenWith(fresh, Options{Logf: log.logf})
	if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "history store "+fresh+" cannot be opened: its filesystem is full") {
		t.Errorf("new store on a full disk: %v", err)
	}
}
