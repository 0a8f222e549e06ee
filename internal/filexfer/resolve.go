package filexfer

import (
	"errors"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// errRefused is every refusal of a path: outside the patterns, through a
// symlink, not a regular file. Callers answer all alike.
var errRefused = errors.New("refused")

const resolveFlags = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openBeneath opens rel (clean, relative, no "..") beneath the directory
// base without following a symlink anywhere on the way, the last
// component included. A path that would leave base or cross a symlink is
// errRefused; other errors (ENOENT) are returned as they are.
func openBeneath(base, rel string, flags int, mode uint32) (*os.File, error) {
	if rel == "" || strings.HasPrefix(rel, "/") || path.Clean(rel) != rel || rel == ".." || strings.HasPrefix(rel, "../") {
		return nil, errRefused
	}
	dirfd, err := unix.Open(base, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat2(dirfd, rel, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC | unix.O_NOFOLLOW), Mode: uint64(mode), Resolve: resolveFlags})
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) && !openat2Works() {
		fd, err = walkBeneath(dirfd, rel, flags, mode)
	}
	switch {
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.EXDEV), errors.Is(err, unix.ENOTDIR):
		return nil, errRefused
	case err != nil:
		return nil, err
	}
	return os.NewFile(uintptr(fd), path.Join(base, rel)), nil
}

// openat2Works tells a seccomp filter that refuses openat2 with EPERM
// (some container runtimes) from a real EPERM.
func openat2Works() bool {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC})
	if err == nil {
		unix.Close(fd)
		return true
	}
	return false
}

// walkBeneath is openBeneath without openat2: one openat per component,
// each with O_NOFOLLOW, directories with O_DIRECTORY. rel holds no ".."
// (checked above), so the walk cannot climb out of dirfd.
func walkBeneath(dirfd int, rel string, flags int, mode uint32) (int, error) {
	comps := strings.Split(rel, "/")
	fd, err := unix.Dup(dirfd)
	if err != nil {
		return -1, err
	}
	for _, c := range comps[:len(comps)-1] {
		next, err := unix.Openat(fd, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	defer unix.Close(fd)
	return unix.Openat(fd, comps[len(comps)-1], flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
}

// OpenRead opens the regular file p (absolute, clean) for reading as
// file-read does: resolved from the root without following a symlink
// anywhere, not a file with other names (hard links); every refusal is
// the same error, whatever its reason (herd fleet tail, service read).
func OpenRead(p string) (*os.File, error) {
	rel, ok := relative("/", p)
	if !ok {
		return nil, errRefused
	}
	f, err := openBeneath("/", rel, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		return nil, errRefused
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || linked(st) {
		f.Close()
		return nil, errRefused
	}
	return f, nil
}

// IsRefused says whether err is a refusal of OpenRead.
func IsRefused(err error) bool { return errors.Is(err, errRefused) }
