package fleetshell

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestHistoryKeepsLinesInAPrivateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "herd", "fleet-shell.history")
	h, err := OpenHistory(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Lines()) != 0 {
		t.Fatalf("a new history has %q", h.Lines())
	}
	for _, l := range []string{"uname -n", "", "uname -n", "@failed uptime", "bad\x1b[2Jline", strings.Repeat("x", MaxHistoryLine+1), "uname -n"} {
		if err := h.Add(l); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"uname -n", "@failed uptime", "uname -n"}
	if !reflect.DeepEqual(h.Lines(), want) {
		t.Errorf("kept %q, want %q", h.Lines(), want)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("history file: %v, %v; want mode 0600", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("history directory: %v, %v; want mode 0700", st.Mode(), err)
	}
	again, err := OpenHistory(path, 10)
	if err != nil || !reflect.DeepEqual(again.Lines(), want) {
		t.Errorf("read back %q, %v; want %q", again.Lines(), err, want)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h")
	h, err := OpenHistory(path, 5)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 23 {
		if err := h.Add("line " + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		if n := len(h.Lines()); n > 5 {
			t.Fatalf("after %d lines, %d kept", i+1, n)
		}
		data, _ := os.ReadFile(path)
		if n := strings.Count(string(data), "\n"); n > 10 {
			t.Fatalf("after %d lines, the file has %d", i+1, n)
		}
	}
	want := []string{"line 18", "line 19", "line 20", "line 21", "line 22"}
	if !reflect.DeepEqual(h.Lines(), want) {
		t.Errorf("kept %q, want %q", h.Lines(), want)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("rewritten with mode %v", st.Mode())
	}
	again, err := OpenHistory(path, 5)
	if err != nil || !reflect.DeepEqual(again.Lines(), want) {
		t.Errorf("read back %q, %v; want %q", again.Lines(), err, want)
	}
}

func TestHistoryRefusesASymlinkAndTightensItsMode(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	os.WriteFile(target, []byte("x\n"), 0o644)
	link := filepath.Join(dir, "h")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenHistory(link, 5); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("a symlink: %v", err)
	}
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("uptime\n"), 0o644)
	h, err := OpenHistory(open, 5)
	if err != nil || !reflect.DeepEqual(h.Lines(), []string{"uptime"}) {
		t.Fatalf("%v, %v", h, err)
	}
	if st, _ := os.Stat(open); st.Mode().Perm() != 0o600 {
		t.Errorf("left with mode %v", st.Mode())
	}
}
