package adoption

import (
	"fmt"
	"slices"

	"github.com/shepherd-go/shepherd/services"
)

// After the daemon ended without stopping its services (kill -9, a
// crash), their processes may still run. On its next start the daemon
// finds them (internal/leftover) and decides here, per service, what to
// do: a second copy must never be started beside them.
//
// The policy: adopt (the service is running, its recorded main process
// is its main process) when that process still runs, is the very process
// recorded (same start time: internal/leftover checks), and the service
// is still defined, as a plain service with a command, with the same
// command and user, and is not a one-shot (whose run cannot be taken
// over: its outcome is its exit status, which goes to its parent, not to
// us). Otherwise stop every process found (stop-signal, stop-timeout,
// SIGKILL), and start the service anew if it is to start.

// Action is what to do with the processes a previous run of the
// daemon left of a service.
type Action int

const (
	// None: nothing is left.
	None Action = iota
	// Adopt: the service runs on with its main process.
	Adopt
	// Stop: the processes are stopped before anything starts.
	Stop
)

func (a Action) String() string {
	switch a {
	case None:
		return "none"
	case Adopt:
		return "adopt"
	case Stop:
		return "stop"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Leftover is what is left of one service's processes.
type Leftover struct {
	// Command and UID are the service's command and user when the
	// process was started.
	Command []string
	UID     uint32
	// Launcher: the recorded process is the launcher of a service with a
	// PID file, which had not named its main process yet.
	Launcher bool
	// Unrecorded: no record names a main process (the processes were
	// found by their cgroup alone: the previous daemon died before its
	// record of the start was written).
	Unrecorded bool
	// MainAlive: the recorded process still runs (same start time).
	MainAlive bool
	// Procs counts the processes found, the main process included.
	Procs int
}

// Decision is what to do, and why (for the log and history).
type Decision struct {
	Action Action
	Reason string
}

// DecideLeftover decides what to do with l, given the service's
// definition in this run (nil when it is no longer defined) and the uid
// its processes would run as now.
func Decide(l Leftover, s *services.Spec, uid uint32) Decision {
	stop := func(format string, args ...any) Decision {
		return Decision{Action: Stop, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case l.Procs == 0:
		return Decision{Action: None}
	case s == nil:
		return stop("it is no longer defined")
	case s.Instances > 0:
		return stop("it is now a group of instances")
	case s.Remote != "":
		return stop("it is now a remote service")
	case len(s.Command) == 0:
		return stop("it no longer has a command")
	case s.OneShot:
		return stop("the run of a one-shot service cannot be taken over")
	case s.StopLeftovers:
		return stop("its definition says leftovers: stop")
	case l.Unrecorded:
		return stop("no record says which of them is its main process")
	case !l.MainAlive:
		return stop("its main process is gone")
	case l.Launcher:
		return stop("it was still starting: its PID file named no process yet")
	case !slices.Equal(l.Command, s.Command):
		return stop("its command changed")
	case l.UID != uid:
		return stop("its user changed (uid %d, now %d)", l.UID, uid)
	}
	return Decision{Action: Adopt, Reason: "its main process still runs"}
}
