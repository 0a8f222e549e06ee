package proc

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOpenLogFileRefusesWhatItMustNotWrite: a log file is written with
// the daemon's authority, so a symlink, a hard link, a FIFO or another
// user's file where it should be is refused and left untouched.
func TestOpenLogFileRefusesWhatItMustNotWrite(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		plant func(path string) error
		want  string // in the error; "" for success
	}{
		{"fresh", func(string) error { return nil }, ""},
		{"symlink", func(p string) error { return os.Symlink(secret, p) }, "is a symbolic link: it is not followed"},
		{"dangling symlink", func(p string) error { return os.Symlink(filepath.Join(dir, "nowhere"), p) }, "is a symbolic link"},
		{"hard link", func(p string) error { return os.Link(secret, p) }, "has 2 hard links"},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o666) }, "is not a regular file"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, "is a directory"},
		{"other owner", func(p string) error {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return err
			}
			return os.Chown(p, 65534, 65534)
		}, "is owned by uid 65534, not by this shepherd's uid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "other owner" && os.Geteuid() != 0 {
				t.Skip("chown needs root")
			}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".log")
			if err := tc.plant(path); err != nil {
				t.Fatal(err)
			}
			f, err := OpenLogFile(path)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if fi, _ := f.Stat(); fi.Mode().Perm()&0o027 != 0 {
					t.Errorf("created with mode %04o", fi.Mode().Perm())
				}
				return
			}
			if err == nil {
				f.Close()
				t.Fatalf("opened; want an error with %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q: want the path and %q", err, tc.want)
			}
		})
	}
	if b, _ := os.ReadFile(secret); string(b) != "root only\n" {
		t.Errorf("the secret file was changed: %q", b)
	}
	// An existing file of ours that others may write is tightened.
	open := filepath.Join(dir, "open.log")
	os.WriteFile(open, nil, 0o666)
	os.Chmod(open, 0o666)
	f, err := OpenLogFile(open)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(open); fi.Mode().Perm() != 0o644 {
		t.Errorf("group/world writable log file left %04o, want 0644", fi.Mode().Perm())
	}
}
