package filexfer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestReadTarget: service read serves file-stat and file-read, never a
// write, and refuses as itself.
func TestReadTarget(t *testing.T) {
	s := NewServer(nil)
	for _, c := range []struct {
		service, action string
		want            bool
	}{
		{"read", "file-stat", true}, {"read", "file-read", true}, {"read", "file-write", false}, {"read", "snapshot", false},
		{"files", "file-write", true}, {"files", "file-read", true},
	} {
		if got := s.Handles(wire.Request{Service: c.service, Action: c.action}); got != c.want {
			t.Errorf("Handles(%s %s) = %v", c.service, c.action, got)
		}
	}
	rep := s.ServeRequest(wire.Request{Service: "read", Action: "file-stat", Args: []string{"write", "/etc/motd"}}, "test", nil)
	if rep.OK || rep.Error.Kind != wire.PermissionDenied || !strings.Contains(rep.Error.Message, "on 'read'") {
		t.Errorf("a write stat on read: %+v", rep.Error)
	}
}

func TestOpenRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.log")
	os.WriteFile(p, []byte("x\n"), 0o644)
	os.Symlink(p, filepath.Join(dir, "link"))
	os.Link(p, filepath.Join(dir, "hard"))
	os.WriteFile(filepath.Join(dir, "solo"), []byte("y\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	f, err := OpenRead(filepath.Join(dir, "solo"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, name := range []string{"link", "hard", "d", "../" + filepath.Base(dir) + "/solo", "./solo"} {
		if _, err := OpenRead(dir + "/" + name); !IsRefused(err) {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
	if _, err := OpenRead(filepath.Join(dir, "missing")); err == nil || IsRefused(err) {
		t.Errorf("missing: %v, want not found", err)
	}
	if _, err := OpenRead("relative/path"); !IsRefused(err) {
		t.Errorf("relative: %v", err)
	}
}
