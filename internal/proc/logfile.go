package proc

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// OpenLogFile opens a log file for appending, creating it 0640. The file
// is written with the daemon's authority (often root's), so whoever can
// write its directory must not be able to point it elsewhere: a symlink
// is not followed, a FIFO does not block the open, and what was opened
// must be a regular file with one link (a hard link to /etc/shadow has
// two), owned by the daemon's user. Group or world write permission on an
// existing file is removed.
func OpenLogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o640)
	if err != nil {
		switch {
		case errors.Is(err, unix.ELOOP):
			return nil, fmt.Errorf("log file %s is a symbolic link: it is not followed (remove it; shepherd creates the file)", path)
		case errors.Is(err, unix.ENXIO):
			return nil, fmt.Errorf("log file %s is not a regular file (remove it; shepherd creates the file)", path)
		}
		return nil, err
	}
	if err := checkLogFile(f, path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func checkLogFile(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("log file %s: cannot check its owner", path)
	}
	uid := os.Geteuid()
	switch {
	case !fi.Mode().IsRegular():
		return fmt.Errorf("log file %s is not a regular file (remove it; shepherd creates the file)", path)
	case st.Nlink != 1:
		return fmt.Errorf("log file %s has %d hard links: another of its names may be a file that must not be written (remove it; shepherd creates the file)", path, st.Nlink)
	case int(st.Uid) != uid:
		return fmt.Errorf("log file %s is owned by uid %d, not by this shepherd's uid %d (remove it, or chown %d %s)", path, st.Uid, uid, uid, path)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		if err := f.Chmod(perm &^ 0o022); err != nil {
			return fmt.Errorf("log file %s: %w", path, err)
		}
	}
	return nil
}
