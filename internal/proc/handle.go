package proc

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// A PID names a process only until the process is reaped; then the
// kernel may give it to any new process. A signal sent by number after
// the reap (kill(-pid) to what its group left, or kill(pid) when there is
// no group) may therefore reach a process that is not the service's at
// all (style P7). A Handle names the process itself, by a pidfd taken
// when it was forked (CLONE_PIDFD) or adopted: a signal sent through it
// reaches that process, or the group it leads, or nothing.

// Handle refers to one process by a pidfd. Its owner closes it once it has
// seen the process's exit (and done what follows it, such as killing what
// the process left in its group). A nil Handle signals nothing.
type Handle struct {
	pid int
	// fd is the pidfd (close-on-exec), or -1 on a kernel without
	// pidfds (before 5.3), where signals go by number as they always did.
	fd int
	// child: the daemon is the parent, so that only our reaper reaps the
	// process (see signalGroupByNumber).
	child bool
	once  sync.Once
}

// ErrGroupUnsafe says that the group of a process that was already
// reaped cannot be signalled on this kernel (before 6.9, which lacks
// PIDFD_SIGNAL_PROCESS_GROUP): by number, the signal could reach a new
// group that reuses the number.
var ErrGroupUnsafe = errors.New("proc: the group of a reaped process cannot be signalled safely on this kernel (before Linux 6.9)")

// groupSignals is cleared once the kernel refuses
// PIDFD_SIGNAL_PROCESS_GROUP; tests clear it to try the older way.
var groupSignals atomic.Bool

func init() { groupSignals.Store(true) }

// reapMu is held for reading while a signal goes to a group by number
// (kernels before 6.9), and for writing by the reaper around wait4: a
// child that is not reaped keeps its PID, and so its group's number, from
// being reused.
var reapMu sync.RWMutex

func newHandle(pid, fd int, child bool) *Handle {
	return &Handle{pid: pid, fd: fd, child: child}
}

// OpenHandle opens a handle on pid. The caller must know that pid is
// still the process it means: a child of the daemon that the reaper cannot
// reap meanwhile (it is paused, or not yet started, as when a re-exec
// restores its services).
func OpenHandle(pid int) (*Handle, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd of process %d: %w", pid, err)
	}
	unix.CloseOnExec(fd)
	return newHandle(pid, fd, true), nil
}

// InheritedHandle takes over fd, a pidfd that a re-exec handed over,
// once /proc says that it is a pidfd of process pid.
func InheritedHandle(fd, pid int) (*Handle, error) {
	if got, err := pidfdPID(fd); err != nil || got != pid {
		return nil, fmt.Errorf("fd %d is not a pidfd of process %d (%d, %v)", fd, pid, got, err)
	}
	unix.CloseOnExec(fd)
	return newHandle(pid, fd, true), nil
}

// pidfdPID reads the PID a pidfd refers to from /proc/self/fdinfo (-1
// once the process was reaped).
func pidfdPID(fd int) (int, error) {
	f, err := os.Open("/proc/self/fdinfo/" + strconv.Itoa(fd))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "Pid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("not a pidfd")
}

// PID is the process's PID (its number when it was forked).
func (h *Handle) PID() int {
	if h == nil {
		return 0
	}
	return h.pid
}

// FD is the pidfd, for a re-exec to hand over (-1 if there is none).
func (h *Handle) FD() int {
	if h == nil {
		return -1
	}
	return h.fd
}

// Close releases the pidfd.
func (h *Handle) Close() {
	if h == nil {
		return
	}
	h.once.Do(func() {
		if h.fd >= 0 {
			unix.Close(h.fd)
		}
	})
}

// Signal sends sig to the process alone. It returns ESRCH once the
// process was reaped, whatever now has its PID.
func (h *Handle) Signal(sig unix.Signal) error {
	if h == nil {
		return unix.ESRCH
	}
	if h.fd < 0 {
		return unix.Kill(h.pid, sig)
	}
	return unix.PidfdSendSignal(h.fd, sig, nil, 0)
}

// SignalGroup sends sig to the process group the process leads, which
// outlives the process while its other members live; a process that leads
// no group (a daemonized process named by a PID file need not) gets it
// alone. It returns ESRCH when there is nobody left to signal, and never
// signals a process or group that merely reuses the number: before Linux
// 6.9, the group of a process already reaped is not signalled at all
// (ErrGroupUnsafe).
func (h *Handle) SignalGroup(sig unix.Signal) error {
	if h == nil {
		return unix.ESRCH
	}
	if h.fd < 0 {
		// No pidfds (Linux before 5.3): by number, and never the
		// PID alone, which the process may have left.
		return unix.Kill(-h.pid, sig)
	}
	if groupSignals.Load() {
		err := unix.PidfdSendSignal(h.fd, sig, nil, unix.PIDFD_SIGNAL_PROCESS_GROUP)
		switch {
		case errors.Is(err, unix.ESRCH):
			// It leads no group (or its group is gone): the process
			// itself, if it was not reaped.
			return h.Signal(sig)
		case !errors.Is(err, unix.EINVAL):
			return err
		}
		// Signal 0 is valid: EINVAL for it says the kernel does not
		// know the flag.
		if !errors.Is(unix.PidfdSendSignal(h.fd, 0, nil, unix.PIDFD_SIGNAL_PROCESS_GROUP), unix.EINVAL) {
			return err
		}
		groupSignals.Store(false)
	}
	return h.signalGroupByNumber(sig)
}

// signalGroupByNumber signals the group by its number while the process
// is known not to be reaped: it is our child (only our reaper reaps it,
// and reapMu holds the reaper off), and its pidfd says it is not reaped
// yet. A process that is not our child, or already reaped, gets the
// signal alone, or not at all.
func (h *Handle) signalGroupByNumber(sig unix.Signal) error {
	if !h.child {
		return h.Signal(sig)
	}
	reapMu.RLock()
	defer reapMu.RUnlock()
	if err := h.Signal(0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrGroupUnsafe
		}
		return err
	}
	if err := unix.Kill(-h.pid, sig); !errors.Is(err, unix.ESRCH) {
		return err
	}
	return h.Signal(sig)
}
