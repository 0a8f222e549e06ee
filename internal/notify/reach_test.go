package notify

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestCheckReachable(t *testing.T) {
	top := t.TempDir()
	// The test's temporary directories (top and the one go test made
	// for it) are 0700: open them.
	for _, d := range []string{filepath.Dir(top), top} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	closed := filepath.Join(top, "closed")
	dir := filepath.Join(closed, "run-notify")
	if err := os.MkdirAll(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	const other, otherGroup = 64999, 64998
	os.Chmod(closed, 0o700)
	// The daemon's own uid owns every directory here; another user passes
	// through only with the others' (or the group's) x bit.
	me := uint32(os.Geteuid())
	if err := CheckReachable(dir, me, 0, nil); err != nil && me != 0 {
		t.Errorf("owner: %v", err)
	}
	if err := CheckReachable(dir, 0, 0, nil); err != nil {
		t.Errorf("root: %v", err)
	}
	err := CheckReachable(dir, other, otherGroup, nil)
	if err == nil || !strings.Contains(err.Error(), "directory "+closed+" is mode 0700") || !strings.Contains(err.Error(), "chmod o+x "+closed) {
		t.Fatalf("closed parent: %v", err)
	}
	// Group search permission is enough for a member of the group.
	os.Chmod(closed, 0o710)
	var st os.FileInfo
	if st, err = os.Stat(closed); err != nil {
		t.Fatal(err)
	}
	gid := statGID(st)
	if err := CheckReachable(dir, other, otherGroup, []uint32{gid}); err != nil {
		t.Errorf("supplementary group %d: %v", gid, err)
	}
	if err := CheckReachable(dir, other, otherGroup, nil); err == nil {
		t.Error("not in the group, 0710: reachable")
	}
	os.Chmod(closed, 0o711)
	if err := CheckReachable(dir, other, otherGroup, nil); err != nil {
		t.Errorf("0711: %v", err)
	}
	if err := CheckReachable(filepath.Join(top, "missing"), other, otherGroup, nil); err == nil {
		t.Error("missing directory: no error")
	}
}

func statGID(fi os.FileInfo) uint32 {
	return fi.Sys().(*syscall.Stat_t).Gid
}
