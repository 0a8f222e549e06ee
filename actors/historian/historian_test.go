package historian

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// hangingFS makes every sync wait, while hang is set, until gate closes:
// a disk that stops answering.
type hangingFS struct {
	vfs.FS
	hang *atomic.Bool
	gate chan struct{}
}

type hangingFile struct {
	vfs.File
	fs hangingFS
}

func (f hangingFile) wait() {
	if f.fs.hang.Load() {
		<-f.fs.gate
	}
}

func (f hangingFile) Sync() error                  { f.wait(); return f.File.Sync() }
func (f hangingFile) SyncData() error              { f.wait(); return f.File.SyncData() }
func (f hangingFile) SyncTo(n int64) (bool, error) { f.wait(); return f.File.SyncTo(n) }
func (fs hangingFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return hangingFile{f, fs}, nil
}

func (fs hangingFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.Create(name, c))
}

func (fs hangingFS) ReuseForWrite(o, n string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(o, n, c))
}

func (fs hangingFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(name, c, opts...))
}

// TestHistorianDegradesWhenTheStoreHangs: a synced write that does not
// come back does not hold the replies that wait for it, nor those after
// it; the history says it is degraded, and once the disk answers again
// every event is in the store, with a history event saying what
// happened.
func TestHistorianDegradesWhenTheStoreHangs(t *testing.T) {
	hang, open, store := hangingStore(t)
	sys := actor.NewActorSystem()
	pid := sys.Root.Spawn(NewProps(testEnv(t), store, 0))
	defer func() { sys.Root.StopFuture(pid).Wait() }()
	health := func() wire.HistoryHealth {
		ch := make(chan wire.HistoryHealth, 1)
		sys.Root.Send(pid, &Health{Reply: ch})
		return <-ch
	}
	wait := func(what string, done chan struct{}) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: still waiting", what)
		}
	}
	record := func(service string) chan struct{} {
		done := make(chan struct{})
		sys.Root.Send(pid, &Record{Events: []history.Event{{Service: service, Kind: history.KindState, State: "running"}}, Sync: true, Done: done})
		return done
	}
	wait("a write to a sound store", record("a"))

	hang.Store(true)
	wait("the reply of the write that hangs", record("b"))
	if h := health(); !h.Degraded || !strings.Contains(h.Reason, "a write has not completed in 105ms") {
		t.Fatalf("health while the disk hangs: %+v", h) // 100 ms and 5 ms for b
	}
	wait("a reply while degraded", record("c"))
	// c is held (b may be too: a retry while the write hangs can take it
	// back from the write it was in, on a busy machine).
	if h := health(); h.Held < 1 {
		t.Errorf("health: %+v, want c held", h)
	}

	open()
	waitFor(t, "the history to be writable again", func() bool { return !health().Degraded })
	waitFor(t, "every event in the store", func() bool {
		evs, err := store.Scan(history.Query{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, e.Service+e.Kind)
		}
		return strings.Join(got, " ") == "astate bstate cstate history"
	})
}

// hangingStore opens a store whose writes hang at their sync while hang
// is set, until open is called (at the latest when the test ends, so that
// a failing test does not leave the store hanging at Close); the stall
// timeout is 100 ms for the test.
func hangingStore(t *testing.T) (hang *atomic.Bool, open func(), store *history.Store) {
	t.Helper()
	saved := commitStallTimeout
	commitStallTimeout = 100 * time.Millisecond
	hang = new(atomic.Bool)
	gate := make(chan struct{})
	store, err := history.OpenWith(filepath.Join(t.TempDir(), "history"), history.Options{
		Logf:   t.Logf,
		WrapFS: func(fs vfs.FS) vfs.FS { return hangingFS{fs, hang, gate} },
	})
	if err != nil {
		t.Fatal(err)
	}
	var release sync.Once
	open = func() { release.Do(func() { hang.Store(false); close(gate) }) }
	// Cleanups run last first: the gate opens before the store closes.
	t.Cleanup(func() { commitStallTimeout = saved })
	t.Cleanup(func() { store.Close() })
	t.Cleanup(open)
	return hang, open, store
}

// testEnv runs goroutines for a test and logs to it.
func testEnv(t testing.TB) Env {
	return Env{Go: func(f func()) { go f() }, Logf: t.Logf}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRecordsAnsweredByTheStore: a record is answered once it is durable;
// while the history is degraded a record is refused (ErrDegraded) rather
// than held; a record in a commit that stalls is answered by the store
// when the write comes back, not released by the watchdog as events are.
func TestRecordsAnsweredByTheStore(t *testing.T) {
	hang, open, store := hangingStore(t)
	sys := actor.NewActorSystem()
	pid := sys.Root.Spawn(NewProps(testEnv(t), store, 0))
	defer func() { sys.Root.StopFuture(pid).Wait() }()
	put := func(key string) chan error {
		ch := make(chan error, 1)
		sys.Root.Send(pid, &PutRecord{Record: history.Record{Kind: "grant", Key: key, Value: []byte(key)}, Reply: ch})
		return ch
	}
	outcome := func(what string, ch chan error) error {
		t.Helper()
		select {
		case err := <-ch:
			return err
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: no answer", what)
			return nil
		}
	}
	stored := func() string {
		recs, err := store.Records("grant")
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range recs {
			keys = append(keys, string(r))
		}
		return strings.Join(keys, " ")
	}
	if err := outcome("a record", put("a")); err != nil {
		t.Fatalf("a record in a sound store: %v", err)
	}
	if got := stored(); got != "a" {
		t.Fatalf("records after the answer: %q, want a", got)
	}

	hang.Store(true)
	stalled := put("b")
	waitFor(t, "the stalled commit to degrade the history", func() bool {
		ch := make(chan wire.HistoryHealth, 1)
		sys.Root.Send(pid, &Health{Reply: ch})
		return (<-ch).Degraded
	})
	select {
	case err := <-stalled:
		t.Fatalf("the record of a commit that has not come back was answered: %v", err)
	default:
	}
	if err := outcome("a record while degraded", put("c")); !errors.Is(err, ErrDegraded) {
		t.Fatalf("a record while degraded: %v, want ErrDegraded", err)
	}

	open()
	if err := outcome("the stalled record", stalled); err != nil {
		t.Fatalf("the stalled record once the disk answers: %v", err)
	}
	if got := stored(); got != "a b" {
		t.Fatalf("records: %q, want a b", got)
	}
}

// TestHistorianGivesALargeCommitTime: a commit of many events that takes
// longer than the stall timeout is a busy machine, not a disk that does
// not answer. Under stress-ng with the race detector, 20,000 services
// starting made commits of 5,000-25,000 events that took 6-17 s: the
// history degraded and dropped the events beyond the 10,000 it holds
// (bigreplies.txtar lost 17,298 of its 40,000). Each event adds to the
// time a commit is given.
func TestHistorianGivesALargeCommitTime(t *testing.T) {
	hang, open, store := hangingStore(t)
	sys := actor.NewActorSystem()
	pid := sys.Root.Spawn(NewProps(testEnv(t), store, 0))
	defer func() { sys.Root.StopFuture(pid).Wait() }()
	health := func() wire.HistoryHealth {
		ch := make(chan wire.HistoryHealth, 1)
		sys.Root.Send(pid, &Health{Reply: ch})
		return <-ch
	}

	// 10,000 events: 50 s more than the stall timeout, which the
	// test's half second stays well inside, however busy the machine.
	evs := make([]history.Event, 10000)
	for i := range evs {
		evs[i] = history.Event{Service: "s", Kind: history.KindState, State: "running"}
	}
	hang.Store(true)
	done := make(chan struct{})
	sys.Root.Send(pid, &Record{Events: evs, Sync: true, Done: done})
	// The commit waits at its sync, past the stall timeout by 5 times.
	time.Sleep(5 * commitStallTimeout)
	if h := health(); h.Degraded {
		t.Fatalf("a commit of %d events degraded the history after %v: %+v", len(evs), 5*commitStallTimeout, h)
	}
	open()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the commit did not come back")
	}
	if h := health(); h.Degraded || h.Dropped > 0 {
		t.Fatalf("health after the commit: %+v", h)
	}
}
