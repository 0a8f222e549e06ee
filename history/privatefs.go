package history

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/sys/unix"
)

// The store holds grants' swiss numbers: whoever reads its files holds
// every capability. pebble creates files 0666 and directories 0755 (less
// the umask), so privateFS makes each file it creates 0600 and each
// directory 0700. The daemon's umask is left alone, since services
// inherit it.
const (
	fileMode = 0o600
	dirMode  = 0o700
)

type privateFS struct{ vfs.FS }

func (p privateFS) Unwrap() vfs.FS { return p.FS }

func (p privateFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return private(p.FS.Create(name, c))
}

func (p privateFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return private(p.FS.OpenReadWrite(name, c, opts...))
}

func (p privateFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	return private(p.FS.ReuseForWrite(oldname, newname, c))
}

func (p privateFS) MkdirAll(dir string, _ os.FileMode) error {
	return p.FS.MkdirAll(dir, dirMode)
}

func (p privateFS) Lock(name string) (io.Closer, error) {
	c, err := p.FS.Lock(name)
	if err == nil {
		if err = os.Chmod(name, fileMode); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, err
}

// private narrows a file just opened to fileMode. The directory is 0700,
// so nobody else could open it in between.
func private(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	if fd := f.Fd(); fd != vfs.InvalidFd {
		err = unix.Fchmod(int(fd), fileMode)
	} else {
		err = errors.New("no file descriptor to narrow the mode of")
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("history store: make a file private: %w", err)
	}
	return f, nil
}

// tighten makes dir 0700 and its files 0600: a store written by an older
// shepherd has pebble's 0644 files in a 0755 directory.
func tighten(dir string) error {
	if err := os.Chmod(dir, dirMode); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(fileMode)
		if d.IsDir() {
			want = dirMode
		}
		if d.Type()&fs.ModeSymlink == 0 && info.Mode().Perm() != want {
			return os.Chmod(path, want)
		}
		return nil
	})
}
