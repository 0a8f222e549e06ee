package insight

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/internal/tail"
)

// journal is a systemd journal in a directory, written by
// systemd-journal-remote (entries with the times a test gives them) and
// read by the real journalctl, through a journalctl on PATH that points
// it there (journald is not needed).
type journal struct {
	dir, bin string
}

func newJournal(t *testing.T) *journal {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("%s, and CI installs it (.ci/run)", what)
		}
		t.Skip(what)
	}
	if _, err := os.Stat("/lib/systemd/systemd-journal-remote"); err != nil {
		missing("systemd-journal-remote is not installed (apt-get install systemd-journal-remote)")
	}
	journalctl, err := exec.LookPath("journalctl")
	if err != nil {
		missing("journalctl is not installed (apt-get install systemd)")
	}
	j := &journal{dir: t.TempDir(), bin: t.TempDir()}
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s --directory=%s \"$@\"\n", journalctl, j.dir)
	if err := os.WriteFile(filepath.Join(j.bin, "journalctl"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	return j
}

// write adds an entry of unit at time at.
func (j *journal) write(t *testing.T, unit string, at time.Time, msg string) {
	t.Helper()
	export := fmt.Sprintf("__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=h1\nSYSLOG_IDENTIFIER=app\n_PID=42\n_SYSTEMD_UNIT=%s\nMESSAGE=%s\n\n",
		at.UnixMicro(), at.UnixMicro(), unit, msg)
	cmd := exec.Command("/lib/systemd/systemd-journal-remote", "-o", filepath.Join(j.dir, "remote.journal"), "-")
	cmd.Stdin = strings.NewReader(export)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote: %v\n%s", err, out)
	}
}

// follow runs sshJournalScript as the next stream of st would, showing
// each entry's message alone.
func (j *journal) follow(t *testing.T, st *journalState, unit string, a tail.Args, since int) *follower {
	t.Helper()
	return runFollower(t, st.command(unit, a, since), []string{"PATH=" + j.bin + ":" + os.Getenv("PATH")},
		func(rec string) (string, bool, bool) {
			line, note, show := st.record(rec)
			if _, msg, ok := strings.Cut(line, "]: "); ok && !note {
				line = msg
			}
			return line, note, show
		})
}

func TestSSHJournalResumesWhereItWas(t *testing.T) {
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk")
	}
	j := newJournal(t)
	now := time.Now().Truncate(time.Second)
	t0 := now.Add(-time.Minute)
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	j.write(t, "web.service", now.Add(-2*time.Hour), "ERROR too old for the window")
	j.write(t, "web.service", at(1), "INFO a")
	j.write(t, "web.service", at(2), "ERROR b")
	j.write(t, "web.service", at(3), "ERROR c")
	j.write(t, "web.service", at(3), "ERROR c2") // the same microsecond
	j.write(t, "web.service", at(4), "INFO newest")
	j.write(t, "db.service", at(4), "ERROR another unit")
	a := tail.Args{Lines: 2, Grep: "ERROR", Exclude: "ignore"}
	st := &journalState{}
	s := j.follow(t, st, "web.service", a, 600)
	s.wait(t, "ERROR c", "ERROR c2") // the last 2 kept, of the last 10 minutes
	j.write(t, "web.service", at(5), "ERROR d")
	j.write(t, "web.service", at(5), "ERROR ignore me")
	s.wait(t, "ERROR c", "ERROR c2", "ERROR d")
	s.stop()
	// Written while the stream was down, one of them in the microsecond
	// of the last entry shown: they come when it is back, nothing twice.
	j.write(t, "web.service", at(5), "ERROR d2")
	j.write(t, "web.service", at(6), "ERROR while down")
	j.write(t, "web.service", at(6), "INFO x")
	s2 := j.follow(t, st, "web.service", a, 600)
	s2.wait(t, "ERROR d2", "ERROR while down")
	j.write(t, "web.service", at(7), "ERROR after")
	s2.wait(t, "ERROR d2", "ERROR while down", "ERROR after")
	s2.stop()
	if st.stamp != at(7).UTC().Format("2006-01-02T15:04:05.000000+0000") || st.count != 1 {
		t.Fatalf("state %+v after the entry at %v", st, at(7))
	}

	// --since bounds the backlog by the host's clock; without it, the
	// last lines of all.
	all := []string{"ERROR b", "ERROR c", "ERROR c2", "ERROR d", "ERROR d2", "ERROR while down", "ERROR after"}
	w := j.follow(t, &journalState{}, "web.service", tail.Args{Lines: 10, Grep: "ERROR", Exclude: "ignore"}, 600)
	w.wait(t, all...)
	w.stop()
	w = j.follow(t, &journalState{}, "web.service", tail.Args{Lines: 10, Grep: "ERROR", Exclude: "ignore"}, 0)
	w.wait(t, append([]string{"ERROR too old for the window"}, all...)...)
	w.stop()

	// A unit with no entry yet: its first entry, written while the stream
	// was down, comes when it is back.
	empty := &journalState{}
	e := j.follow(t, empty, "new.service", tail.Args{Lines: 10}, 0)
	e.waitFor(t, func() bool { return empty.known }, func() string { return "the stream never said where it was" })
	e.stop()
	j.write(t, "new.service", at(8), "first words")
	e2 := j.follow(t, empty, "new.service", tail.Args{Lines: 10}, 0)
	e2.wait(t, "first words")
}

// What a host prints is read as records: nothing in an entry can move
// the stream's place or pass for a note.
func TestJournalStateRecords(t *testing.T) {
	st := journalState{}
	for _, tt := range []struct {
		rec, line string
		note      bool
		stamp     string
		count     int
		known     bool
	}{
		{"@-", "", false, "", 0, true},
		{"@2026-12-04T23:15:09.566164+0000 2", "", false, "2026-12-04T23:15:09.566164+0000", 2, true},
		{"=@2026-12-04T23:15:10.000000+0000 1", "@2026-12-04T23:15:10.000000+0000 1", false, "2026-12-04T23:15:09.566164+0000", 2, true},
		{"!journalctl: no such unit", "journalctl: no such unit", true, "2026-12-04T23:15:09.566164+0000", 2, true},
		{"@2026-12-04T23:15:10.000000+0000 0", "", false, "2026-12-04T23:15:09.566164+0000", 2, true},
		{"@2026-12-04 23:15:10 1", "", false, "2026-12-04T23:15:09.566164+0000", 2, true},
		{"@2026-12-04T23:15:10.0+0000 1; rm -rf /", "", false, "2026-12-04T23:15:09.566164+0000", 2, true},
		{"@2026-12-04T23:15:10.0+0000 99999999999999999999", "", false, "2026-12-04T23:15:09.566164+0000", 2, true},
		{"garbage", "", false, "2026-12-04T23:15:09.566164+0000", 2, true},
	} {
		line, note, _ := st.record(tt.rec)
		if line != tt.line || note != tt.note || st.stamp != tt.stamp || st.count != tt.count || st.known != tt.known {
			t.Fatalf("%q: line %q note %v, state %+v", tt.rec, line, note, st)
		}
	}
}
