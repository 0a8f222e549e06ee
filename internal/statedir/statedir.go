package statedir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/shepherd-go/shepherd/internal/proc"
	"golang.org/x/sys/unix"
)

// The state directory holds what only the daemon may read or change: the
// history (grants' swiss numbers among it), the identity key, the logs,
// a re-exec's handover. Whoever can write it can make the daemon follow
// a planted symlink or read a planted grant, so it must be the daemon's
// own, and what the daemon creates in it is private.

// stateSubdirs are created 0700 and must be real directories of ours.
var stateSubdirs = []string{"logs", "history"}

// Prepare creates dir (0700) or checks that an existing one is
// owned by uid and not writable by group or others; insecure skips that
// check. Its subdirectories are then made (or tightened to) 0700, and must
// be directories owned by uid, never symlinks.
func Prepare(dir string, uid int, insecure bool) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
		// MkdirAll's mode passed through the umask; ours is exact.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
	case err != nil:
		return fmt.Errorf("state directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("state directory %s is not a directory", dir)
	case !insecure:
		if err := checkStateDir(dir, fi, uid); err != nil {
			return err
		}
	}
	for _, sub := range stateSubdirs {
		if err := privateSubdir(filepath.Join(dir, sub), uid); err != nil {
			return err
		}
	}
	return nil
}

// checkStateDir refuses a state directory that someone else could change.
func checkStateDir(dir string, fi fs.FileInfo, uid int) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if int(st.Uid) != uid {
		return fmt.Errorf("state directory %s is owned by uid %d, not by this shepherd's uid %d: whoever owns it controls the daemon's history and logs (chown %d %s, or choose another --state)",
			dir, st.Uid, uid, uid, dir)
	}
	if mode := fi.Mode().Perm(); mode&0o022 != 0 {
		return fmt.Errorf("state directory %s is writable by its group or others (mode %04o): other users could plant files in it (chmod go-w %s)", dir, mode, dir)
	}
	return nil
}

// privateSubdir creates path 0700, or tightens an existing directory of
// ours to 0700; a symlink or another's directory is refused.
func privateSubdir(path string, uid int) error {
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("state directory: %w", err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("state directory: %s is not a directory (a symlink or a file there is refused: remove it)", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != uid {
		return fmt.Errorf("state directory: %s is owned by uid %d, not by this shepherd's uid %d (remove it, or chown -R %d %s)", path, st.Uid, uid, uid, path)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(path, 0o700); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
	}
	return nil
}

// stateLockName is the lock file in the state directory: held (flock) for
// the daemon's life, re-exec included, it tells a second daemon started
// on the same state directory who holds it.
const stateLockName = "shepherd.lock"

// Lock takes the state directory's lock, or says which shepherd
// holds it. The file then holds our PID.
func Lock(dir string) (*os.File, error) {
	path := filepath.Join(dir, stateLockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state directory lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			holder := "whose PID is unknown"
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n]))); err == nil && pid > 0 {
				holder = "PID " + strconv.Itoa(pid)
			}
			return nil, fmt.Errorf("state directory %s is in use by another shepherd (%s): stop that one first, or give this one another --state", dir, holder)
		}
		return nil, fmt.Errorf("state directory lock %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("state directory lock %s: %w", path, err)
	}
	return f, nil
}

// InheritedLock is the lock a re-exec handed over: still held, since
// a flock belongs to the open file, which execve keeps.
func InheritedLock(fd int, dir string) (*os.File, error) {
	path := filepath.Join(dir, stateLockName)
	var held, named unix.Stat_t
	if unix.Fstat(fd, &held) != nil || unix.Stat(path, &named) != nil || held.Dev != named.Dev || held.Ino != named.Ino {
		return nil, fmt.Errorf("re-exec handover: fd %d is not the state directory lock %s", fd, path)
	}
	f := os.NewFile(uintptr(fd), path)
	// Taking it again on the same open file only confirms it.
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("re-exec handover: state directory lock: %w", err)
	}
	proc.SetCloseOnExec(fd, true)
	return f, nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}
