package leftover

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Held is a process found, held by a pidfd: a signal sent through it
// reaches that process or nothing, whoever gets its PID afterwards.
type Held struct {
	Proc
	fd int // -1 once closed or given away
}

// ErrNotSame says that a PID no longer names the process found: it ended,
// or ended and its number was reused, or it changed users.
var ErrNotSame = errors.New("no longer the process found")

// Hold opens a pidfd on p, then checks in /proc that the PID still names
// p: the same start time and uids, not a zombie. What /proc said is of
// the process the pidfd holds only if that process is still alive after
// the read, which is checked last.
func Hold(p Proc) (*Held, error) {
	fd, err := unix.PidfdOpen(p.PID, unix.PIDFD_NONBLOCK)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, fmt.Errorf("process %d: %w", p.PID, ErrNotSame)
		}
		return nil, fmt.Errorf("pidfd of process %d: %w", p.PID, err)
	}
	now, err := ReadProc(p.PID)
	if err == nil && (now.Start != p.Start || now.UIDs != p.UIDs || now.State == 'Z' || now.State == 'X') {
		err = ErrNotSame
	}
	if err == nil {
		err = unix.PidfdSendSignal(fd, 0, nil, 0)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("process %d: %w", p.PID, ErrNotSame)
	}
	return &Held{Proc: now, fd: fd}, nil
}

// Close releases the pidfd.
func (h *Held) Close() {
	if h.fd >= 0 {
		unix.Close(h.fd)
		h.fd = -1
	}
}

// File gives the pidfd away, as a file (non-blocking, pollable): the
// caller owns it from now on.
func (h *Held) File() *os.File {
	f := os.NewFile(uintptr(h.fd), "pidfd "+strconv.Itoa(h.PID))
	h.fd = -1
	return f
}

// signal sends sig through the pidfd.
func (h *Held) signal(sig syscall.Signal) error {
	if h.fd < 0 {
		return unix.ESRCH
	}
	return unix.PidfdSendSignal(h.fd, sig, nil, 0)
}

// StopGroup is one service's leftover processes and how to stop them.
type StopGroup struct {
	Service string
	Procs   []*Held
	// Signal is sent first (SIGTERM if zero), then SIGCONT so that a
	// stopped process gets it; after Timeout, SIGKILL; after KillWait
	// more, whatever remains is given up on.
	Signal   syscall.Signal
	Timeout  time.Duration
	KillWait time.Duration
	// Kill, if set, is called when the stop comes to SIGKILL (before
	// each process is sent it): the group's cgroup is killed as a whole.
	Kill func()
}

// Stopped says how the stop of one group went, by PID.
type Stopped struct {
	Service string
	// Ended went after the stop signal, Killed needed SIGKILL, and
	// Survived were still there KillWait after it (in uninterruptible
	// sleep, or held by a tracer).
	Ended, Killed, Survived []int
}

// Stop stops the groups' processes, all groups at once, and returns once
// each process ended or was given up on: within the longest Timeout plus
// KillWait. It closes every pidfd.
func Stop(groups []StopGroup) []Stopped {
	type proc struct {
		h     *Held
		group int
	}
	out := make([]Stopped, len(groups))
	deadline := make([]time.Time, len(groups))
	killed := make([]bool, len(groups))
	cgroupKilled := make([]bool, len(groups))
	var live []proc
	now := time.Now()
	for i, g := range groups {
		out[i].Service = g.Service
		sig := g.Signal
		if sig == 0 {
			sig = syscall.SIGTERM
		}
		for _, h := range g.Procs {
			if h.signal(sig) != nil {
				out[i].Ended = append(out[i].Ended, h.PID)
				h.Close()
				continue
			}
			if sig != syscall.SIGKILL && sig != syscall.SIGCONT {
				h.signal(syscall.SIGCONT)
			}
			live = append(live, proc{h, i})
		}
		deadline[i] = now.Add(g.Timeout)
	}
	for len(live) > 0 {
		// Wait for an exit, or the nearest deadline of a group with
		// processes left.
		now = time.Now()
		next := time.Duration(-1)
		for _, p := range live {
			if d := deadline[p.group].Sub(now); next < 0 || d < next {
				next = max(d, 0)
			}
		}
		fds := make([]unix.PollFd, len(live))
		for i, p := range live {
			fds[i] = unix.PollFd{Fd: int32(p.h.fd), Events: unix.POLLIN}
		}
		ms := int((next + time.Millisecond - 1) / time.Millisecond)
		if _, err := unix.Poll(fds, ms); err != nil && !errors.Is(err, unix.EINTR) {
			// Cannot wait on them (too many?): look again a little
			// later, and give up at the deadlines as usual.
			clear(fds)
			time.Sleep(min(next, 10*time.Millisecond))
		}
		now = time.Now()
		rest := live[:0]
		for i, p := range live {
			g := p.group
			switch {
			case fds[i].Revents != 0:
				// Ended (a pidfd is readable once its process has).
				if killed[g] {
					out[g].Killed = append(out[g].Killed, p.h.PID)
				} else {
					out[g].Ended = append(out[g].Ended, p.h.PID)
				}
				p.h.Close()
			case now.Before(deadline[g]):
				rest = append(rest, p)
			case !killed[g]:
				if k := groups[g].Kill; k != nil && !cgroupKilled[g] {
					cgroupKilled[g] = true
					k()
				}
				p.h.signal(syscall.SIGKILL)
				rest = append(rest, p)
			default:
				out[g].Survived = append(out[g].Survived, p.h.PID)
				p.h.Close()
			}
		}
		live = rest
		for g := range groups {
			if !killed[g] && !now.Before(deadline[g]) {
				killed[g] = true
				deadline[g] = now.Add(groups[g].KillWait)
			}
		}
	}
	return out
}
