package logger

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services"
)

// TestStderrFile: with a stderr file, stderr's chunks go there and the
// rest to the log file, each rotated on its own; recent lines keep both.
func TestStderrFile(t *testing.T) {
	dir := t.TempDir()
	out, errPath := filepath.Join(dir, "web.log"), filepath.Join(dir, "web.err")
	var logged []string
	st := newLoggerState("web", Files{Path: out, StderrPath: errPath, GID: -1, Rotate: services.LogRotate{Size: 60, Keep: 2}},
		func(f string, a ...any) { logged = append(logged, f) })
	at := time.Date(2026, 11, 25, 3, 4, 5, 0, time.UTC)
	stamp := "2026-11-25 03:04:05 "
	write := func(stream proc.Stream, lines ...string) {
		c := chunkOf(lines, at)
		c.Stream = stream
		st.write(c)
	}
	write(proc.StreamOut, "to stdout")
	write(proc.StreamErr, "to stderr", "again")
	write(proc.StreamOut, "stdout 2")
	// 30 bytes a line: the third stderr line starts web.err anew.
	write(proc.StreamErr, "third")
	st.close()

	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got, want := read(out), stamp+"to stdout\n"+stamp+"stdout 2\n"; got != want {
		t.Errorf("%s: %q, want %q", out, got, want)
	}
	if got, want := read(errPath+".1"), stamp+"to stderr\n"+stamp+"again\n"; got != want {
		t.Errorf("%s.1: %q, want %q", errPath, got, want)
	}
	if got, want := read(errPath), stamp+"third\n"; got != want {
		t.Errorf("%s: %q, want %q", errPath, got, want)
	}
	want := []string{stamp + "to stdout", stamp + "to stderr", stamp + "again", stamp + "stdout 2", stamp + "third"}
	if got := st.lastLines(10); !slices.Equal(got, want) {
		t.Errorf("recent lines %q, want %q", got, want)
	}

	// A stderr file that cannot be opened is said, with the log file's
	// writes unharmed.
	st = newLoggerState("web", Files{Path: out, StderrPath: filepath.Join(dir, "web.log", "x"), GID: -1}, func(string, ...any) {})
	write(proc.StreamErr, "lost")
	write(proc.StreamOut, "kept")
	if p := st.problem(); !strings.Contains(p, "web.log/x cannot be created") {
		t.Errorf("problem %q", p)
	}
	if st.out.problem != "" || st.errOut.lost != 1 {
		t.Errorf("out problem %q, stderr lost %d", st.out.problem, st.errOut.lost)
	}
	st.close()

	// The same path twice is one file.
	st = newLoggerState("web", Files{Path: out, StderrPath: out + "/"}, func(string, ...any) {})
	if st.errOut != nil {
		t.Errorf("stderr-log-file equal to the log file makes a second writer")
	}
}
