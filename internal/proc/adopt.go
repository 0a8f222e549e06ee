package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A service with a pid-file names its main process in a file it writes
// itself; the daemon then signals that process as root, watches it, and
// waits for its exit on a stop. The file is the service's word, so its
// content is checked before anything is done with it: the daemon adopts
// only a process that
//
//   - descends from the daemon (the launcher is the daemon's child, and
//     orphans of its descendants are re-parented to the daemon, a child
//     subreaper), so not another user's session, not init, not the daemon;
//   - started after the launcher (so not an older process of another
//     service);
//   - runs as the service's user: its real, effective and saved uids all
//     are the service's (or the daemon's, for a service without `user`).
//     A root service may claim a descendant of any user, since it could
//     signal that process itself (daemons started as root often switch to
//     their own user before they write the file).
//
// The file itself is read without following a symbolic link, without
// blocking on a FIFO, only if it is a regular file, and at most
// pidFileMax bytes of it.

// pidFileMax bounds what is read of a PID file: a PID is at most 7 digits
// (pid_max is at most 2^22); more than this is not a PID file.
const pidFileMax = 64

// ErrNoPIDYet says the PID file does not name a live process yet: it is
// missing, not (yet) a number, or names a process that is gone. The
// controller looks again until the pid-file-timeout.
var ErrNoPIDYet = errors.New("the PID file names no live process yet")

// ReadPIDFile returns the PID in the file at path. It returns ErrNoPIDYet,
// or an error naming the file that the start fails with.
func ReadPIDFile(path string) (int, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	switch {
	case errors.Is(err, unix.ENOENT):
		return 0, ErrNoPIDYet
	case errors.Is(err, unix.ELOOP):
		return 0, fmt.Errorf("pid file %s is a symbolic link, which shepherd does not follow", path)
	case err != nil:
		return 0, fmt.Errorf("pid file %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("pid file %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, fmt.Errorf("pid file %s is %s, not a regular file", path, fileKind(st.Mode))
	}
	buf := make([]byte, pidFileMax+1)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("pid file %s: %w", path, err)
		}
		if m == 0 {
			break
		}
		n += m
	}
	if n > pidFileMax {
		return 0, fmt.Errorf("pid file %s holds more than %d bytes, which is not a PID", path, pidFileMax)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(buf[:n])))
	if err != nil || pid <= 0 {
		return 0, ErrNoPIDYet // empty or half written: look again
	}
	return pid, nil
}

// RemoveStalePIDFile removes the file at path if uid owns it. The daemon
// may run as root, and a directory on the way may be the service's to
// replace with a symlink: only what the service's user owns goes, so a
// symlinked /etc loses nothing. A symlink itself is removed, never
// followed.
func RemoveStalePIDFile(path string, uid uint32) error {
	dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	defer unix.Close(dir)
	base := filepath.Base(path)
	var st unix.Stat_t
	if err := unix.Fstatat(dir, base, &st, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return fmt.Errorf("pid file %s is a directory", path)
	case st.Uid != uid:
		return fmt.Errorf("stale pid file %s belongs to uid %d, not to the service's user (uid %d); not removed", path, st.Uid, uid)
	}
	if err := unix.Unlinkat(dir, base, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	return nil
}

func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	}
	return fmt.Sprintf("of type %#o", mode&unix.S_IFMT)
}

// ProcInfo is what /proc says of a process.
type ProcInfo struct {
	PID, PPID int
	State     byte   // R, S, D, Z, ...
	Start     uint64 // clock ticks after boot
	// UIDs are the real, effective and saved user IDs.
	UIDs [3]uint32
	// ExitCode is a zombie's wait status (readable to its owner and root).
	ExitCode int
}

// ReadProcStat reads /proc/PID/stat.
func ReadProcStat(pid int) (ProcInfo, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcInfo{}, err
	}
	// pid (comm) state ppid ...: comm may hold anything; fields start
	// after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return ProcInfo{}, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field N is f[N-3].
	if len(f) < 22-3+1 {
		return ProcInfo{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	p := ProcInfo{PID: pid, State: f[0][0]}
	if p.PPID, err = strconv.Atoi(f[4-3]); err != nil {
		return ProcInfo{}, fmt.Errorf("/proc/%d/stat: ppid: %w", pid, err)
	}
	if p.Start, err = strconv.ParseUint(f[22-3], 10, 64); err != nil {
		return ProcInfo{}, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	if len(f) > 52-3 {
		p.ExitCode, _ = strconv.Atoi(f[52-3])
	}
	return p, nil
}

// ReadUIDs reads the real, effective and saved uids of /proc/PID/status.
func ReadUIDs(pid int) ([3]uint32, error) {
	var uids [3]uint32
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return uids, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "Uid:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 3 {
			break
		}
		for i := range uids {
			v, err := strconv.ParseUint(f[i], 10, 32)
			if err != nil {
				return uids, fmt.Errorf("/proc/%d/status: %w", pid, err)
			}
			uids[i] = uint32(v)
		}
		return uids, nil
	}
	return uids, fmt.Errorf("/proc/%d/status: no Uid line", pid)
}

// userHz is the unit of /proc/PID/stat's start time: USER_HZ, 100 on
// every architecture Linux runs Go on (the kernel converts to it, so it
// does not depend on CONFIG_HZ).
const userHz = 100

// BootTicks is the time since boot in /proc/PID/stat's start-time unit,
// rounded down: a process forked after this call has a start time at
// least this.
func BootTicks() uint64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0
	}
	return uint64(ts.Nano()) / uint64(time.Second/userHz)
}

// AdoptRule is what a process named by a PID file must satisfy.
type AdoptRule struct {
	PIDFile string
	// Source, when set, is what named the process, for errors (as
	// "MAINPID=123"); else "pid file PIDFile".
	Source string
	// Self is the daemon's PID: the ancestor every service process has.
	Self int
	// LauncherStart is BootTicks taken just before the launcher's fork.
	LauncherStart uint64
	// UID is the service's user (the daemon's when it has none), and
	// User its name for messages ("" for the daemon's user).
	UID  uint32
	User string
}

// source names what named the process, for errors.
func (r AdoptRule) source() string {
	if r.Source != "" {
		return r.Source
	}
	return "pid file " + r.PIDFile
}

// check decides whether p, whose ancestors (nearest first) are chain,
// may be adopted. Its errors name the file and the PID.
func (r AdoptRule) check(p ProcInfo, chain []int) error {
	src := r.source()
	service := "the service"
	if r.User != "" {
		service += " running as " + r.User
	}
	switch {
	case p.PID == r.Self:
		return fmt.Errorf("%s names process %d, which is shepherd itself", src, p.PID)
	case !slices.Contains(chain, r.Self):
		return fmt.Errorf("%s names process %d, which is not a descendant of %s", src, p.PID, service)
	case p.Start < r.LauncherStart:
		return fmt.Errorf("%s names process %d, which started before %s did", src, p.PID, service)
	case r.UID != 0 && (p.UIDs[0] != r.UID || p.UIDs[1] != r.UID || p.UIDs[2] != r.UID):
		who := fmt.Sprintf("uid %d", r.UID)
		if r.User != "" {
			who = fmt.Sprintf("%s (uid %d)", r.User, r.UID)
		}
		return fmt.Errorf("%s names process %d, which runs as uid %d, not as %s", src, p.PID, p.UIDs[1], who)
	}
	return nil
}

// maxAncestors bounds the walk up the process tree.
const maxAncestors = 4096

// Adoption is a process found fit to adopt, held by a pidfd so that its
// PID cannot meanwhile name another process.
type Adoption struct {
	PID int
	// PIDFD refers to the process (non-blocking); the monitor watches it
	// for the exit of a process that is not the daemon's child.
	PIDFD *os.File
	// Child: the daemon is its parent, so the reaper will see its exit.
	Child bool
}

// Adopt reads the PID file at r.PIDFile and checks the process it names.
// It returns ErrNoPIDYet while there is nothing to decide yet, or an
// error for the start to fail with.
func Adopt(r AdoptRule) (Adoption, error) {
	pid, err := ReadPIDFile(r.PIDFile)
	if err != nil {
		return Adoption{}, err
	}
	return AdoptPID(pid, r)
}

// AdoptPID checks process pid as Adopt checks the process a PID file
// names; r.Source names it in errors ("MAINPID=123" for sd_notify).
func AdoptPID(pid int, r AdoptRule) (Adoption, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	switch {
	case errors.Is(err, unix.ESRCH):
		return Adoption{}, ErrNoPIDYet
	case errors.Is(err, unix.EINVAL):
		return Adoption{}, fmt.Errorf("%s names %d, which is not a process (a thread?)", r.source(), pid)
	case err != nil:
		return Adoption{}, fmt.Errorf("%s names process %d: %w", r.source(), pid, err)
	}
	pidfd := os.NewFile(uintptr(fd), "pidfd "+strconv.Itoa(pid))
	keep := false
	defer func() {
		if !keep {
			pidfd.Close()
		}
	}()
	p, err := ReadProcStat(pid)
	if err != nil || p.State == 'Z' || p.State == 'X' {
		return Adoption{}, ErrNoPIDYet // gone already
	}
	if p.UIDs, err = ReadUIDs(pid); err != nil {
		return Adoption{}, ErrNoPIDYet
	}
	var chain []int
	for a := p.PPID; a > 0 && len(chain) < maxAncestors; {
		chain = append(chain, a)
		if a == r.Self {
			break
		}
		ap, err := ReadProcStat(a)
		if err != nil {
			return Adoption{}, ErrNoPIDYet // the tree changed under us: look again
		}
		a = ap.PPID
	}
	if err := r.check(p, chain); err != nil {
		return Adoption{}, err
	}
	// What was read is of the process the pidfd holds only if it is still
	// alive: otherwise its PID may have been reused meanwhile.
	if err := unix.PidfdSendSignal(fd, 0, nil, 0); err != nil {
		return Adoption{}, ErrNoPIDYet
	}
	keep = true
	return Adoption{PID: pid, PIDFD: pidfd, Child: p.PPID == r.Self}, nil
}

// Handle is a handle of its own on the adopted process (a duplicate of
// PIDFD, which the monitor owns), for the owner to signal it by.
func (a Adoption) Handle() (*Handle, error) {
	// Not PIDFD.Fd(), which would make the monitor's watch blocking.
	rc, err := a.PIDFD.SyscallConn()
	fd := -1
	if err == nil {
		cerr := rc.Control(func(u uintptr) { fd, err = unix.FcntlInt(u, unix.F_DUPFD_CLOEXEC, 3) })
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return nil, fmt.Errorf("pidfd of process %d: %w", a.PID, err)
	}
	return newHandle(a.PID, fd, a.Child), nil
}
