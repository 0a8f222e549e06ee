package insight

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/internal/tail"
)

// follower runs a host's script here (sh, tail, journalctl and awk, as
// on a Debian host; the SSH session around it is fleettail.txtar's) and
// keeps what it shows, as record reads it.
type follower struct {
	record func(string) (string, bool, bool)
	mu     sync.Mutex
	shown  []string
	cmd    *exec.Cmd
	done   chan struct{}
}

func follow(t *testing.T, st *followState, path string, lines int, a tail.Args) *follower {
	t.Helper()
	return runFollower(t, sshFollowCommand(path, lines, st.from, st.inode, a), nil, st.record)
}

func runFollower(t *testing.T, command string, env []string, record func(string) (string, bool, bool)) *follower {
	t.Helper()
	f := &follower{record: record, done: make(chan struct{})}
	f.cmd = exec.Command("sh", "-c", command)
	f.cmd.Env = append(os.Environ(), env...)
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(f.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f.mu.Lock()
			if line, note, show := f.record(sc.Text()); show {
				if note {
					line = "note: " + line
				}
				f.shown = append(f.shown, line)
			}
			f.mu.Unlock()
		}
	}()
	t.Cleanup(f.stop)
	return f
}

// stop ends the stream, as a dropped session does (the whole group:
// tail and the awks).
func (f *follower) stop() {
	if f.cmd.Process != nil {
		syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
	}
	f.cmd.Wait()
	<-f.done
}

// wait waits for what the stream showed to be want.
func (f *follower) wait(t *testing.T, want ...string) {
	t.Helper()
	f.waitShown(t, "", func(string) bool { return false }, want)
}

// waitLines is wait for the file's lines alone, whatever notes came.
func (f *follower) waitLines(t *testing.T, want ...string) {
	t.Helper()
	f.waitShown(t, " the lines", func(l string) bool { return strings.HasPrefix(l, "note: ") }, want)
}

// waitShown waits for what the stream showed, but for what drop drops, to
// be want (what: the kind of lines, for the message).
func (f *follower) waitShown(t *testing.T, what string, drop func(string) bool, want []string) {
	t.Helper()
	var got []string
	f.waitFor(t, func() bool {
		got = slices.DeleteFunc(slices.Clone(f.shown), drop)
		return slices.Equal(got, want)
	}, func() string { return fmt.Sprintf("showed %q, want%s %q", got, what, want) })
}

// waitFor waits for cond, which reads what record keeps, and fails with
// failure's message if it does not come.
func (f *follower) waitFor(t *testing.T, cond func() bool, failure func() string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		f.mu.Lock()
		ok := cond()
		f.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(failure())
		}
	}
}

func appendTo(t *testing.T, p, s string) {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(s)
	f.Close()
}

func TestSSHFollowResumesWhereItWas(t *testing.T) {
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	os.WriteFile(p, []byte("INFO a\nERROR b\nERROR c\n"), 0o644)
	a := tail.Args{Grep: "ERROR", Exclude: "ignore"}
	st := &followState{from: -1}
	s := follow(t, st, p, 2, a)
	s.wait(t, "ERROR b", "ERROR c") // the last 2 lines, filtered
	appendTo(t, p, "ERROR d\nERROR ignore me\nINFO e\n")
	s.wait(t, "ERROR b", "ERROR c", "ERROR d")
	s.stop()
	// Written while the stream was down: it comes when it is back, and
	// nothing twice.
	appendTo(t, p, "ERROR while down\nINFO x\n")
	s2 := follow(t, st, p, 0, a)
	s2.wait(t, "ERROR while down")
	appendTo(t, p, "ERROR after\n")
	s2.wait(t, "ERROR while down", "ERROR after")
	// Rotated while it runs: the new file from its start; then down
	// again, the offset counts in the new file.
	os.Rename(p, p+".1")
	os.WriteFile(p, []byte("ERROR new file\n"), 0o644)
	s2.waitLines(t, "ERROR while down", "ERROR after", "ERROR new file") // and tail's notes, as its timing has it
	s2.stop()
	appendTo(t, p, "ERROR down again\n")
	s3 := follow(t, st, p, 0, a)
	s3.wait(t, "ERROR down again")
	s3.stop()
	// Replaced while down: from the new file's start, with a note.
	os.Remove(p)
	os.WriteFile(p, []byte("ERROR third file\n"), 0o644)
	s4 := follow(t, st, p, 0, a)
	s4.wait(t, "note: "+p+" was replaced while the stream was down; following the new file from its start", "ERROR third file")
}

// What a host prints is read as records: nothing in a file's line can
// move the offset or pass for a note.
func TestFollowStateRecords(t *testing.T) {
	st := followState{from: -1}
	for _, tt := range []struct {
		rec, line string
		note      bool
		from      int64
		inode     string
	}{
		{"#1234", "", false, -1, "1234"},
		{"@100", "", false, 100, "1234"},
		{"=@200", "@200", false, 100, "1234"},
		{"=!a note?", "!a note?", false, 100, "1234"},
		{"!tail: 'x' has been replaced", "'x' has been replaced", true, 100, "1234"},
		{"@-5", "", false, 100, "1234"},
		{"@99999999999999999999999", "", false, 100, "1234"},
		{"#12; rm -rf /", "", false, 100, "1234"},
		{"garbage", "", false, 100, "1234"},
	} {
		line, note, _ := st.record(tt.rec)
		if line != tt.line || note != tt.note || st.from != tt.from || st.inode != tt.inode {
			t.Fatalf("%q: line %q note %v, state %+v", tt.rec, line, note, st)
		}
	}
}
