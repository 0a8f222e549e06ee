package statedir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrepareStateDir: created 0700 with private logs and history; one
// others can write, or of another owner, is refused with the fix; a
// symlink for logs is refused; a wide subdirectory of ours is tightened.
func TestPrepareStateDir(t *testing.T) {
	uid := os.Geteuid()
	base := t.TempDir()
	mode := func(p string) os.FileMode {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}

	fresh := filepath.Join(base, "a", "state")
	if err := Prepare(fresh, uid, false); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fresh, filepath.Join(fresh, "logs"), filepath.Join(fresh, "history")} {
		if m := mode(p); m != 0o700 {
			t.Errorf("%s: mode %04o, want 0700", p, m)
		}
	}

	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	err := Prepare(open, uid, false)
	if err == nil || err.Error() != "state directory "+open+" is writable by its group or others (mode 0777): other users could plant files in it (chmod go-w "+open+")" {
		t.Errorf("world-writable: %v", err)
	}
	if err := Prepare(open, uid, true); err != nil {
		t.Errorf("world-writable with --insecure: %v", err)
	}

	theirs := filepath.Join(base, "theirs")
	os.Mkdir(theirs, 0o700)
	if err := Prepare(theirs, uid+1, false); err == nil || !strings.Contains(err.Error(), "is owned by uid") || !strings.Contains(err.Error(), "choose another --state") {
		t.Errorf("another's: %v", err)
	}

	// A world-readable state directory of ours is fine; its subdirectories
	// are private, and one left wide is tightened.
	readable := filepath.Join(base, "readable")
	os.Mkdir(readable, 0o755)
	os.Mkdir(filepath.Join(readable, "history"), 0o755)
	if err := Prepare(readable, uid, false); err != nil {
		t.Fatal(err)
	}
	if m := mode(filepath.Join(readable, "history")); m != 0o700 {
		t.Errorf("history left %04o", m)
	}

	planted := filepath.Join(base, "planted")
	os.Mkdir(planted, 0o700)
	os.Symlink("/etc", filepath.Join(planted, "logs"))
	if err := Prepare(planted, uid, false); err == nil || !strings.Contains(err.Error(), filepath.Join(planted, "logs")+" is not a directory") {
		t.Errorf("symlinked logs: %v", err)
	}
}
