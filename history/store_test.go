package history

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func ev(seq uint64, sec int, service, kind string) Event {
	return Event{Seq: seq, Time: t0.Add(time.Duration(sec) * time.Second), Service: service, Kind: kind}
}

func seqs(evs []Event) []uint64 {
	var out []uint64
	for _, e := range evs {
		out = append(out, e.Seq)
	}
	return out
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScanQueriesAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	code := 3
	exit := ev(3, 2, "web", KindExit)
	exit.ExitCode, exit.PID, exit.Runtime = &code, 42, 1500*time.Millisecond
	if err := s.Append([]Event{ev(1, 0, "", KindDaemonStart), ev(2, 1, "web", KindStart), exit, ev(4, 3, "db", KindState), ev(5, 4, "web", KindRespawn)}, true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    Query
		want []uint64
	}{
		{"all by time", Query{}, []uint64{1, 2, 3, 4, 5}},
		{"one service", Query{Service: "web"}, []uint64{2, 3, 5}},
		{"a service that is a prefix of none", Query{Service: "we"}, nil},
		{"since", Query{Since: t0.Add(2 * time.Second)}, []uint64{3, 4, 5}},
		{"service since", Query{Service: "web", Since: t0.Add(2 * time.Second)}, []uint64{3, 5}},
		{"after a sequence", Query{AfterSeq: 3}, []uint64{4, 5}},
		{"last two", Query{Limit: 2}, []uint64{4, 5}},
		{"last of a service", Query{Service: "web", Limit: 1}, []uint64{5}},
	} {
		got, err := s.Scan(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if !equal(seqs(got), tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, seqs(got), tc.want)
		}
	}
	got, _ := s.Scan(Query{Service: "web"})
	if e := got[1]; e.Kind != KindExit || *e.ExitCode != 3 || e.PID != 42 || e.Runtime != 1500*time.Millisecond {
		t.Fatalf("exit event round trip: %+v", e)
	}
	s.Close()

	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.LastSeq() != 5 {
		t.Fatalf("reopened store continues after %d, want 5", s.LastSeq())
	}
}

func TestDeleteBefore(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Append([]Event{ev(1, 0, "a", KindStart), ev(2, 10, "a", KindExit), ev(3, 20, "", KindLoad)}, false)
	n, err := s.DeleteBefore(t0.Add(15 * time.Second))
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	for _, q := range []Query{{}, {Service: "a"}, {AfterSeq: 0}} {
		got, _ := s.Scan(q)
		if q.Service == "a" && len(got) != 0 || q.Service == "" && !equal(seqs(got), []uint64{3}) {
			t.Errorf("after retention, %+v: %v", q, seqs(got))
		}
	}
}

func TestCorruptStoreIsAnErrorNamingThePath(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Append([]Event{ev(1, 0, "a", KindStart)}, true)
	s.Close()
	manifests, _ := filepath.Glob(filepath.Join(dir, "MANIFEST-*"))
	if len(manifests) == 0 {
		t.Fatal("no MANIFEST to corrupt")
	}
	for _, m := range manifests {
		os.WriteFile(m, []byte("garbage garbage garbage"), 0o644)
	}
	_, err = Open(dir)
	if err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("corrupt store: %v", err)
	}
}

func TestRecordsSurviveReopenAndRetention(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	s.Write(nil, []Record{{Kind: "grant", Key: "b", Value: []byte("2")}}, true)
	s.Write(nil, []Record{{Kind: "grant", Key: "a", Value: []byte("1")}}, true)
	s.Write(nil, []Record{{Kind: "other", Key: "a", Value: []byte("x")}}, true)
	s.DeleteBefore(time.Now().Add(time.Hour))
	s.Close()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.Records("grant")
	if err != nil || len(got) != 2 || string(got[0]) != "1" || string(got[1]) != "2" {
		t.Fatalf("records %q %v", got, err)
	}
	if v, err := s.Record("grant", "a"); err != nil || string(v) != "1" {
		t.Errorf("record grant/a: %q %v", v, err)
	}
	if v, err := s.Record("grant", "c"); err != nil || v != nil {
		t.Errorf("record grant/c: %q %v, want none", v, err)
	}
	if v, err := s.LastRecord("grant"); err != nil || string(v) != "2" {
		t.Errorf("last grant: %q %v", v, err)
	}
	if v, err := s.LastRecord("none"); err != nil || v != nil {
		t.Errorf("last of no records: %q %v", v, err)
	}
}

func TestBounded(t *testing.T) {
	long := strings.Repeat("é", MaxEventText)
	e := Bounded(Event{Message: long, Who: "uid 1", Command: []string{"a", long, "c"}})
	if len(e.Message) > MaxEventText+40 || !utf8.ValidString(e.Message) || !strings.HasSuffix(e.Message, " more bytes]") {
		t.Errorf("message cut to %d bytes: %q", len(e.Message), e.Message[len(e.Message)-30:])
	}
	if e.Who != "uid 1" || len(e.Command) != 2 || e.Command[0] != "a" || e.Command[1] != "[2 more arguments]" {
		t.Errorf("bounded: who %q, command %q", e.Who, e.Command)
	}
}

// TestFilesArePrivate: the store holds grants' swiss numbers, so every file
// pebble makes is 0600 in a 0700 directory, whatever the umask, and a store
// an older shepherd left 0644 in a 0755 directory is tightened at Open.
func TestFilesArePrivate(t *testing.T) {
	check := func(dir string) {
		t.Helper()
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			want := os.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if got := info.Mode().Perm(); got != want {
				t.Errorf("%s: mode %04o, want %04o", path, got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "history")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Enough events to rotate the memtable: a flush writes sstables and
	// a new WAL and manifest edit.
	var evs []Event
	for i := 1; i <= 20000; i++ {
		evs = append(evs, Event{Seq: uint64(i), Time: t0.Add(time.Duration(i)), Service: "web", Kind: KindStart, Message: strings.Repeat("x", 100)})
	}
	if err := s.Append(evs, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(nil, []Record{{Kind: "grant", Key: "a", Value: []byte("secret")}}, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(names) == 0 {
		t.Fatal("no sstable was written: the test proves less than it says")
	}
	check(dir)

	// An older store: widen everything, reopen.
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if d.IsDir() {
			return os.Chmod(path, 0o755)
		}
		return os.Chmod(path, 0o644)
	})
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	check(dir)
}

// TestOpenInUseIsNotCorrupt: a store another process (or this one) has
// open is in use, not damaged: the message must not advise moving it
// aside, which would throw away a live history.
func TestOpenInUseIsNotCorrupt(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Open(dir)
	if err == nil || errors.Is(err, ErrCorrupt) || strings.Contains(err.Error(), "move it aside") || !strings.Contains(err.Error(), dir+" is in use by another process") {
		t.Errorf("second Open: %v", err)
	}
}

// TestEventIsTheProtocolsFields: the store's event and the protocol's have
// the same fields, so that one converts to the other (and what is stored
// is what herd shows); a field added to one must be added to the other.
func TestEventIsTheProtocolsFields(t *testing.T) {
	code := 3
	e := Event{Seq: 1, Service: "web", Kind: KindExit, ExitCode: &code, Message: "m"}
	a, _ := json.Marshal(e)
	b, _ := json.Marshal(wire.Event(e))
	if string(a) != string(b) {
		t.Fatalf("stored %s, sent %s", a, b)
	}
}

// TestRecordNilValueDeletes: a record written with a nil value is gone,
// also after a reopen; an empty value is a value.
func TestRecordNilValueDeletes(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Write(nil, []Record{{Kind: "intent", Key: "a", Value: []byte("1")}, {Kind: "intent", Key: "b", Value: []byte("2")}}, true)
	if err := s.Write(nil, []Record{{Kind: "intent", Key: "a"}, {Kind: "intent", Key: "c", Value: []byte{}}}, true); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Record("intent", "a"); err != nil || v != nil {
		t.Errorf("deleted record: %q %v", v, err)
	}
	if got, err := s.Records("intent"); err != nil || len(got) != 2 || string(got[0]) != "2" || len(got[1]) != 0 {
		t.Errorf("records: %q %v", got, err)
	}
	if got, err := s.RecordsByKey("intent"); err != nil || len(got) != 2 || string(got["b"]) != "2" || got["c"] == nil {
		t.Errorf("records by key: %q %v", got, err)
	}
}

// TestWriteEventsAndRecords: events and records written together are
// all there after a reopen.
func TestWriteEventsAndRecords(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	evs := []Event{{Seq: 1, Time: t0, Service: "web", Kind: KindStart}}
	if err := s.Write(evs, []Record{{Kind: "grant", Key: "a", Value: []byte("1")}, {Kind: "import", Key: "x", Value: []byte("2")}}, true); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, err := s.Scan(Query{}); err != nil || len(got) != 1 || got[0].Service != "web" {
		t.Errorf("events: %+v %v", got, err)
	}
	for kind, want := range map[string]string{"grant": "1", "import": "2"} {
		if got, err := s.Records(kind); err != nil || len(got) != 1 || string(got[0]) != want {
			t.Errorf("%s records: %q %v", kind, got, err)
		}
	}
}
