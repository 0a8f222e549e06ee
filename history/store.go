package history

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// Event kinds.
const (
	KindState        = "state"         // a lifecycle transition; State holds the new state
	KindStart        = "start"         // a process started: PID, Command
	KindExit         = "exit"          // a process ended: PID, ExitCode or Signal, Runtime, MaxRSS, CPU
	KindRespawn      = "respawn"       // an unexpected exit will be followed by a respawn
	KindRespawnLimit = "respawn-limit" // respawned too often: failed and disabled
	KindAction       = "action"        // a client asked for something: Who, Action, Result
	KindLoad         = "load"          // configuration loaded: Message lists the services
	KindDaemonStart  = "daemon-start"
	KindDaemonStop   = "daemon-stop"
	KindDaemonReexec = "daemon-reexec" // the daemon re-executed its binary, keeping its services
	KindHook         = "hook"          // a hook ran: Action names it, Result says how it went
	// KindAdopted: at its start, the daemon took on a process that a
	// previous daemon, which ended without stopping it, left running:
	// PID is the main process, Message says which others and why.
	KindAdopted = "adopted"
	// KindStoppedLeftover: at its start, the daemon stopped the processes
	// a previous daemon left of a service: PID is the first of them,
	// Message says why and how each ended.
	KindStoppedLeftover = "stopped-leftover"
	// KindCapability is a grant, attenuation, revocation, use or refusal
	// of a capability: Who, Action ("grant", "use start", ...), Result.
	KindCapability = "capability"
	// KindHistory says the history could not be written for a while
	// (the disk was full): Message says how long, why, and how many
	// events were dropped.
	KindHistory = "history"
	// KindJob is a tracked job's finished run or missed period (herd run,
	// services/jobs): Job names it, Outcome is ok, failed or late.
	KindJob = "job"
	// KindProxy: a remote service's exporter was lost (State
	// unreachable, Message the error) or reached again (State the
	// mirrored one).
	KindProxy = "proxy"
	// KindFleetRun: a fleet run was recorded (Command, Result ok or
	// failed, Message its number and summary).
	KindFleetRun = "fleet-run"
)

// Event is one thing that happened. Seq orders all events of a store and
// never repeats, across restarts. It is stored as JSON; the protocol's
// wire.Event has the same fields (a conversion makes one of the other),
// so what is stored is what herd history shows, but the store does not
// change when the protocol does.
type Event struct {
	Seq      uint64        `json:"seq"`
	Time     time.Time     `json:"time"`
	Service  string        `json:"service,omitempty"`
	Kind     string        `json:"kind"`
	State    string        `json:"state,omitempty"`
	PID      int           `json:"pid,omitempty"`
	Command  []string      `json:"command,omitempty"`
	ExitCode *int          `json:"exit_code,omitempty"`
	Signal   string        `json:"signal,omitempty"`
	Runtime  time.Duration `json:"runtime_ns,omitempty"`
	MaxRSS   int64         `json:"max_rss_kb,omitempty"`
	CPU      time.Duration `json:"cpu_ns,omitempty"`
	Who      string        `json:"who,omitempty"`
	Action   string        `json:"action,omitempty"`
	Result   string        `json:"result,omitempty"`
	Message  string        `json:"message,omitempty"`
	// Job and Outcome: a tracked job's event (kind job): ok, failed, late.
	Job     string `json:"job,omitempty"`
	Outcome string `json:"outcome,omitempty"`
}

// Keys: every event is stored under three keys so that each query is one
// range scan with no point lookups:
//
//	s<seq>                 all events by sequence
//	t<time><seq>           all events by time
//	v<service>\x00<time><seq>  one service's events by time
//
// Numbers are big-endian so that byte order is numeric order.
const (
	prefixSeq     = 's'
	prefixTime    = 't'
	prefixService = 'v'
)

func u64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func seqKey(seq uint64) []byte { return u64([]byte{prefixSeq}, seq) }

func timeKey(t time.Time, seq uint64) []byte {
	return u64(u64([]byte{prefixTime}, uint64(t.UnixNano())), seq)
}

func serviceKey(service string, t time.Time, seq uint64) []byte {
	k := append([]byte{prefixService}, service...)
	k = append(k, 0)
	return u64(u64(k, uint64(t.UnixNano())), seq)
}

// ErrCorrupt is wrapped by Open when the store cannot be read.
var ErrCorrupt = errors.New("history store is corrupt or unreadable")

// Store is the pebble database of events. It is safe for concurrent use;
// the daemon has one writer (the history writer actor) and many readers.
type Store struct {
	db   *pebble.DB
	path string
	last uint64 // highest sequence at Open; the writer continues from it
	g    *guard
}

// Options tune a store. The zero value is the daemon's.
type Options struct {
	// Logf receives what the store has to say: the disk filling up, the
	// store failing, pebble's errors. Default: standard error.
	Logf func(format string, args ...any)

	// WrapFS, for tests, wraps the filesystem pebble writes through (to
	// make it fail or hang).
	WrapFS func(vfs.FS) vfs.FS

	// For tests: no check of the free space before a write, no ballast.
	noPreflight, noBallast bool
}

// Open opens (or creates) the store in dir. A store that cannot be read is
// an error naming the path, never a silent reset.
func Open(dir string) (*Store, error) { return OpenWith(dir, Options{}) }

// OpenWith opens the store in dir with opts.
func OpenWith(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("history store %s: %w", dir, err)
	}
	if err := tighten(dir); err != nil {
		return nil, fmt.Errorf("history store %s: make it private: %w", dir, err)
	}
	g := &guard{path: dir, logf: opts.Logf, reserve: Reserve, ballastSize: BallastSize}
	if g.logf == nil {
		g.logf = func(f string, args ...any) { fmt.Fprintf(os.Stderr, f+"\n", args...) }
	}
	g.noPreflight = opts.noPreflight
	if opts.noBallast {
		g.ballastSize = 0
	}
	if _, err := os.Stat(g.ballastPath()); err == nil {
		g.ballast.Store(true)
	}
	var fs vfs.FS = privateFS{vfs.Default}
	if opts.WrapFS != nil {
		fs = opts.WrapFS(fs)
	}
	fs = vfs.OnDiskFull(fs, g.diskFull)
	// A service manager's history is small and append-mostly: small
	// memtables and cache keep the daemon's memory low.
	cache := pebble.NewCache(2 << 20)
	defer cache.Unref()
	var db *pebble.DB
	err := g.run(func() error {
		var err error
		db, err = pebble.Open(dir, &pebble.Options{
			FS: fs, Logger: pebbleLogger{g}, Cache: cache, MemTableSize: 2 << 20,
			EventListener: &pebble.EventListener{BackgroundError: g.background},
		})
		return err
	})
	if err != nil {
		if lockHeld(err) {
			return nil, fmt.Errorf("history store %s is in use by another process (%v); it is not damaged: stop the shepherd that has it open, or give this one another --state", dir, err)
		}
		if errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), syscall.ENOSPC.Error()) {
			return nil, fmt.Errorf("history store %s cannot be opened: its filesystem is full (%v); it is not damaged: free some space there", dir, err)
		}
		return nil, fmt.Errorf("history store %s: %w: %v (move it aside to start a new history)", dir, ErrCorrupt, err)
	}
	s := &Store{db: db, path: dir, g: g}
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixSeq}, UpperBound: []byte{prefixSeq + 1}})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("history store %s: %w", dir, err)
	}
	if it.Last() {
		s.last = binary.BigEndian.Uint64(it.Key()[1:])
	}
	if err := it.Close(); err != nil {
		db.Close()
		return nil, fmt.Errorf("history store %s: %w: %v", dir, ErrCorrupt, err)
	}
	// Place the ballast now if there is room (else at a later write).
	g.room(0)
	return s, nil
}

// lockHeld reports whether pebble.Open failed on its LOCK file: another
// process (EAGAIN or EACCES from fcntl, unlike a file that cannot be
// opened, which is a PathError) or this one holds the store.
func lockHeld(err error) bool {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return false
	}
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) || strings.Contains(err.Error(), "lock held by current process")
}

// Writable says whether a write of need bytes would be tried now: nil,
// or the error (wrapping ErrNoSpace or ErrBroken) it would return.
func (s *Store) Writable(need int) error {
	if err := s.g.brokenErr(); err != nil {
		return err
	}
	return s.g.room(int64(need))
}

// Path is the store's directory.
func (s *Store) Path() string { return s.path }

// LastSeq is the highest sequence number stored when the store was opened.
func (s *Store) LastSeq() uint64 { return s.last }

// Close closes the store. A broken store is left open: pebble may be
// stuck where it failed, and the process's exit releases it.
func (s *Store) Close() error {
	if err := s.g.brokenErr(); err != nil {
		return err
	}
	return s.db.Close()
}

// Append writes events (whose Seq the caller assigned) in one batch; with
// sync the batch is durable when Append returns. An error wrapping
// ErrNoSpace or ErrBroken means nothing was written.
func (s *Store) Append(evs []Event, sync bool) error { return s.Write(evs, nil, sync) }

// Record is a value kept under a kind and a key (a capability grant, an
// imported capability, a fleet run, a service's intent), apart from the
// events: see Records. A nil Value deletes the record: a record that is
// no longer true (a service enabled again) does not stay behind.
type Record struct {
	Kind, Key string
	Value     []byte
}

// Write writes events (as Append) and records in one batch, all or
// nothing; with sync the batch is durable when Write returns. An error
// wrapping ErrNoSpace or ErrBroken means nothing was written. The daemon
// has one writer, its history writer (actors/historian): grants, imports
// and fleet runs share its batches and their syncs.
func (s *Store) Write(evs []Event, recs []Record, sync bool) error {
	b := s.db.NewBatch()
	for _, r := range recs {
		if r.Value == nil {
			b.Delete(recordKey(r.Kind, r.Key), nil)
			continue
		}
		b.Set(recordKey(r.Kind, r.Key), r.Value, nil)
	}
	for i := range evs {
		e := &evs[i]
		v, err := json.Marshal(e)
		if err != nil {
			b.Close()
			return fmt.Errorf("history: encode event: %w", err)
		}
		b.Set(seqKey(e.Seq), v, nil)
		b.Set(timeKey(e.Time, e.Seq), v, nil)
		if e.Service != "" {
			b.Set(serviceKey(e.Service, e.Time, e.Seq), v, nil)
		}
	}
	opts := pebble.NoSync
	if sync {
		opts = pebble.Sync
	}
	err := s.g.write(len(b.Repr()), func() error { return b.Commit(opts) })
	if !errors.Is(err, ErrBroken) {
		// A batch pebble failed in the middle of may still be in its
		// hands: only one it is done with goes back to its pool.
		b.Close()
	}
	if err != nil && !errors.Is(err, ErrNoSpace) && !errors.Is(err, ErrBroken) {
		return fmt.Errorf("history store %s: %w", s.path, err)
	}
	return err
}

// Query selects events. Zero fields do not restrict.
type Query struct {
	Service  string
	Since    time.Time
	Until    time.Time // exclusive
	AfterSeq uint64
	// Limit keeps the last Limit events of the selection.
	Limit int
	// First keeps the first First events of the selection (a page that
	// starts at AfterSeq).
	First int
	// BySeq walks all events in sequence order, as AfterSeq does (a
	// collector's pull from sequence 0).
	BySeq bool
}

// Scan returns the events the query selects, oldest first.
func (s *Store) Scan(q Query) ([]Event, error) {
	var out []Event
	err := s.Each(q, func(e Event) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// Knows says whether the store holds an event of service: a service
// gone (a transient that ended, one unloaded) keeps its history.
func (s *Store) Knows(service string) bool {
	evs, err := s.Scan(Query{Service: service, First: 1})
	return err == nil && len(evs) > 0
}

// Each calls fn with the events the query selects, oldest first, without
// holding them all (but the last q.Limit, which it must reverse). An
// error of fn ends the scan and is returned.
func (s *Store) Each(q Query, fn func(Event) error) error {
	var lower, upper []byte
	switch {
	case q.Service != "":
		base := append([]byte{prefixService}, q.Service...)
		base = append(base, 0)
		lower = u64(append([]byte{}, base...), uint64(max(q.Since.UnixNano(), 0)))
		upper = append(append([]byte{}, base[:len(base)-1]...), 1)
	case q.AfterSeq > 0 || q.BySeq:
		lower, upper = seqKey(q.AfterSeq+1), []byte{prefixSeq + 1}
	default:
		lower = u64([]byte{prefixTime}, uint64(max(q.Since.UnixNano(), 0)))
		upper = []byte{prefixTime + 1}
	}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("history store %s: %w", s.path, err)
	}
	defer it.Close()
	decode := func() (Event, bool, error) {
		var e Event
		if err := json.Unmarshal(it.Value(), &e); err != nil {
			return e, false, fmt.Errorf("history store %s: %w: bad event at key %x: %v", s.path, ErrCorrupt, it.Key(), err)
		}
		if e.Seq <= q.AfterSeq || (!q.Since.IsZero() && e.Time.Before(q.Since)) || (!q.Until.IsZero() && !e.Time.Before(q.Until)) {
			return e, false, nil
		}
		return e, true, nil
	}
	if q.Limit > 0 {
		// Walk backwards so that a long history costs only Limit reads.
		var last []Event
		for ok := it.Last(); ok && len(last) < q.Limit; ok = it.Prev() {
			e, keep, err := decode()
			if err != nil {
				return err
			}
			if keep {
				last = append(last, e)
			}
		}
		if err := it.Error(); err != nil {
			return err
		}
		for i := len(last) - 1; i >= 0; i-- {
			if err := fn(last[i]); err != nil {
				return err
			}
		}
		return nil
	}
	n := 0
	for ok := it.First(); ok && (q.First == 0 || n < q.First); ok = it.Next() {
		e, keep, err := decode()
		if err != nil {
			return err
		}
		if keep {
			n++
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return it.Error()
}

// DeleteBefore removes the events older than t and returns how many.
func (s *Store) DeleteBefore(t time.Time) (int, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixTime}, UpperBound: timeKey(t, 0)})
	if err != nil {
		return 0, err
	}
	b := s.db.NewBatch()
	defer func() {
		if s.g.brokenErr() == nil {
			b.Close()
		}
	}()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		var e Event
		if err := json.Unmarshal(it.Value(), &e); err != nil {
			continue
		}
		b.Delete(bytes.Clone(it.Key()), nil)
		b.Delete(seqKey(e.Seq), nil)
		if e.Service != "" {
			b.Delete(serviceKey(e.Service, e.Time, e.Seq), nil)
		}
		n++
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	if err := s.g.write(len(b.Repr()), func() error { return b.Commit(pebble.NoSync) }); err != nil {
		return 0, err
	}
	// Reclaim the space of what was deleted.
	return n, s.g.write(0, func() error {
		return s.db.Compact(context.Background(), []byte{prefixSeq}, []byte{prefixService + 1}, false)
	})
}

// Records other than events (capability grants) live under prefixRecord:
// r<kind>\x00<key>. They are not subject to retention.
const prefixRecord = 'r'

func recordKey(kind, key string) []byte {
	k := append([]byte{prefixRecord}, kind...)
	k = append(k, 0)
	return append(k, key...)
}

// Record returns the value stored under kind and key, or nil if none.
func (s *Store) Record(kind, key string) ([]byte, error) {
	v, closer, err := s.db.Get(recordKey(kind, key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history store %s: %w", s.path, err)
	}
	defer closer.Close()
	return bytes.Clone(v), nil
}

// LastRecord returns the value with the greatest key under kind, or nil.
func (s *Store) LastRecord(kind string) ([]byte, error) {
	it, err := s.recordIter(kind)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Last() {
		return nil, it.Error()
	}
	return bytes.Clone(it.Value()), nil
}

func (s *Store) recordIter(kind string) (*pebble.Iterator, error) {
	lower := recordKey(kind, "")
	upper := append(append([]byte{prefixRecord}, kind...), 1)
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, fmt.Errorf("history store %s: %w", s.path, err)
	}
	return it, nil
}

// Records returns every value stored under kind.
func (s *Store) Records(kind string) ([][]byte, error) {
	it, err := s.recordIter(kind)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, bytes.Clone(it.Value()))
	}
	return out, it.Error()
}

// RecordsByKey returns every value stored under kind, by key: its owner
// can then delete one it cannot read.
func (s *Store) RecordsByKey(kind string) (map[string][]byte, error) {
	it, err := s.recordIter(kind)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[string][]byte{}
	prefix := len(recordKey(kind, ""))
	for ok := it.First(); ok; ok = it.Next() {
		out[string(it.Key()[prefix:])] = bytes.Clone(it.Value())
	}
	return out, it.Error()
}
