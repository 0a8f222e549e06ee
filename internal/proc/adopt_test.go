package proc

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A PID file is read without following a symlink, without blocking on a
// FIFO and at most pidFileMax bytes of it; a missing or half-written one
// is looked at again.
func TestReadPIDFile(t *testing.T) {
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	write := func(name, content string) string {
		if err := os.WriteFile(path(name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path(name)
	}
	if err := unix.Mkfifo(path("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(write("target", "123\n"), path("link"))
	os.Mkdir(path("dir"), 0o755)
	huge, err := os.Create(path("huge"))
	if err != nil {
		t.Fatal(err)
	}
	huge.Truncate(1 << 40) // a terabyte, sparse: it must not be read
	huge.Close()
	for _, tc := range []struct {
		file string
		pid  int
		err  string // "" for none, "yet" for ErrNoPIDYet
	}{
		{write("ok", "4242\n"), 4242, ""},
		{write("spaces", "  77  "), 77, ""},
		{path("missing"), 0, "yet"},
		{write("empty", ""), 0, "yet"},
		{write("garbage", "12ab"), 0, "yet"},
		{write("zero", "0\n"), 0, "yet"},
		{write("negative", "-1\n"), 0, "yet"},
		{path("fifo"), 0, "is a FIFO, not a regular file"},
		{path("link"), 0, "is a symbolic link"},
		{path("dir"), 0, "is a directory, not a regular file"},
		{path("huge"), 0, "holds more than 64 bytes"},
		{write("long", strings.Repeat("1", 65)), 0, "holds more than 64 bytes"},
	} {
		done := make(chan struct{})
		var pid int
		var err error
		go func() {
			pid, err = ReadPIDFile(tc.file)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: reading blocks", tc.file)
		}
		switch {
		case tc.err == "yet":
			if !errors.Is(err, ErrNoPIDYet) {
				t.Errorf("%s: %d, %v; want ErrNoPIDYet", tc.file, pid, err)
			}
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), tc.file) {
				t.Errorf("%s: %d, %v; want an error naming it and saying %q", tc.file, pid, err, tc.err)
			}
		case err != nil || pid != tc.pid:
			t.Errorf("%s: %d, %v; want %d", tc.file, pid, err, tc.pid)
		}
	}
}

// The rule: a descendant of the daemon, started after the launcher, of
// the service's user (any user for a root service).
func TestAdoptRule(t *testing.T) {
	alice := AdoptRule{PIDFile: "/run/x.pid", Self: 100, LauncherStart: 5000, UID: 1003, User: "alice"}
	root := AdoptRule{PIDFile: "/run/x.pid", Self: 100, LauncherStart: 5000}
	as := func(uid uint32) [3]uint32 { return [3]uint32{uid, uid, uid} }
	for _, tc := range []struct {
		name  string
		rule  AdoptRule
		p     ProcInfo
		chain []int
		want  string
	}{
		{"daemonized child", alice, ProcInfo{PID: 300, Start: 5001, UIDs: as(1003)}, []int{100}, ""},
		{"under the launcher", alice, ProcInfo{PID: 301, Start: 5000, UIDs: as(1003)}, []int{200, 100}, ""},
		{"init", alice, ProcInfo{PID: 1, Start: 0, UIDs: as(0)}, nil,
			"pid file /run/x.pid names process 1, which is not a descendant of the service running as alice"},
		{"a root process elsewhere", alice, ProcInfo{PID: 50, Start: 6000, UIDs: as(0)}, []int{40, 1},
			"pid file /run/x.pid names process 50, which is not a descendant of the service running as alice"},
		{"the daemon", alice, ProcInfo{PID: 100, Start: 10, UIDs: as(0)}, []int{1},
			"pid file /run/x.pid names process 100, which is shepherd itself"},
		{"an older service's process", alice, ProcInfo{PID: 60, Start: 4999, UIDs: as(1003)}, []int{100},
			"pid file /run/x.pid names process 60, which started before the service running as alice did"},
		{"another user", alice, ProcInfo{PID: 70, Start: 5001, UIDs: as(1004)}, []int{100},
			"pid file /run/x.pid names process 70, which runs as uid 1004, not as alice (uid 1003)"},
		{"setuid root", alice, ProcInfo{PID: 71, Start: 5001, UIDs: [3]uint32{1003, 0, 0}}, []int{100},
			"pid file /run/x.pid names process 71, which runs as uid 0, not as alice (uid 1003)"},
		{"root service, daemon dropped to its user", root, ProcInfo{PID: 80, Start: 5001, UIDs: as(33)}, []int{100}, ""},
		{"root service, not a descendant", root, ProcInfo{PID: 81, Start: 5001, UIDs: as(0)}, []int{1},
			"pid file /run/x.pid names process 81, which is not a descendant of the service"},
	} {
		err := tc.rule.check(tc.p, tc.chain)
		if got := errString(err); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// adopt reads /proc for real: a child of this process started after the
// mark is adopted, holding a pidfd; this process's parent is refused.
func TestAdoptReadsTheProcessTree(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.pid")
	start := BootTicks()
	pid, err := syscall.ForkExec("/bin/sleep", []string{"sleep", "60"}, &syscall.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
	}()
	rule := AdoptRule{PIDFile: file, Self: os.Getpid(), LauncherStart: start, UID: uint32(os.Geteuid())}
	os.WriteFile(file, []byte(strconv.Itoa(pid)+"\n"), 0o644)
	a, err := Adopt(rule)
	if err != nil {
		t.Fatal(err)
	}
	defer a.PIDFD.Close()
	if a.PID != pid || !a.Child {
		t.Errorf("adopted %+v, want child %d", a, pid)
	}
	os.WriteFile(file, []byte(strconv.Itoa(os.Getppid())+"\n"), 0o644)
	if _, err := Adopt(rule); err == nil || !strings.Contains(err.Error(), "not a descendant") {
		t.Errorf("our parent: %v", err)
	}
	rule.LauncherStart = BootTicks() + 100*userHz // 100 s from now
	os.WriteFile(file, []byte(strconv.Itoa(pid)+"\n"), 0o644)
	if _, err := Adopt(rule); err == nil || !strings.Contains(err.Error(), "started before") {
		t.Errorf("a process older than the launcher: %v", err)
	}
}

// TestRemoveStalePIDFile: a stale pid file is removed only if the
// service's user owns it, however the path was redirected: a service
// that can replace a directory on the way with a symlink to /etc must not
// have the daemon (root) delete a file there.
func TestRemoveStalePIDFile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another uid (CI runs as root)")
	}
	dir := t.TempDir()
	victimDir := filepath.Join(dir, "etc")
	os.Mkdir(victimDir, 0o755)
	victim := filepath.Join(victimDir, "x.pid")
	os.WriteFile(victim, []byte("1\n"), 0o644) // root's
	runDir := filepath.Join(dir, "run")
	os.Symlink(victimDir, runDir) // the service swapped its directory
	if err := RemoveStalePIDFile(filepath.Join(runDir, "x.pid"), 4242); err == nil {
		t.Error("a file of root's, reached through a symlinked directory, was to be removed")
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("root's file is gone: %v", err)
	}
	own := filepath.Join(dir, "own.pid")
	os.WriteFile(own, []byte("7\n"), 0o644)
	os.Chown(own, 4242, 4242)
	if err := RemoveStalePIDFile(own, 4242); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(own); !os.IsNotExist(err) {
		t.Errorf("the service's own stale pid file is still there: %v", err)
	}
	link := filepath.Join(dir, "link.pid")
	os.Symlink(victim, link)
	os.Lchown(link, 4242, 4242)
	if err := RemoveStalePIDFile(link, 4242); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("a symlink was followed: %v", err)
	}
	if err := RemoveStalePIDFile(filepath.Join(dir, "none", "x.pid"), 4242); err != nil {
		t.Errorf("a missing directory: %v", err)
	}
}
