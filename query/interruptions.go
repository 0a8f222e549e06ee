package query

import (
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/history"
)

// Kinds of interruption (the events table's kind column).
const (
	// An unexpected exit: the process of a starting or running service
	// ended, with no stop asked for, with a status other than 0 (or an
	// unknown one, or a signal).
	IntExit = "exit"
	// The daemon started the service again after an exit.
	IntRespawn = "respawn"
	// A start failed (the service went from starting to failed), other
	// than by the respawn limit.
	IntFailedStart = "failed-start"
	// The service respawned too often and was disabled.
	IntRespawnLimit = "respawn-limit"
)

// Interruption is one row of the events table.
type Interruption struct {
	Service  string
	Time     time.Time
	Kind     string
	ExitCode *int
	Signal   string
	Message  string
}

// Walker derives interruptions and current states from one host's
// events, fed oldest first. It is pure: the same events give the same
// rows, whatever the clock.
type Walker struct {
	last  map[string]string // service -> last state seen since the daemon started
	state map[string]stateAt
	Out   []Interruption
}

type stateAt struct {
	State string
	Since time.Time
}

// NewWalker is a walker with nothing seen.
func NewWalker() *Walker {
	return &Walker{last: map[string]string{}, state: map[string]stateAt{}}
}

// Step takes the next event.
//
// A daemon-start forgets the services' states: what the previous daemon
// left running (it ended without stopping them, or crashed) is adopted or
// stopped, and an exit seen afterwards belongs to a new start. A
// daemon-reexec keeps them: the services ran on through it, and an exit
// after it is the exit of the process started before it. An exit while
// stopping (a stop asked for, the daemon stopping) is no interruption.
func (w *Walker) Step(e history.Event) {
	if e.Service == "" {
		if e.Kind == history.KindDaemonStart {
			clear(w.last)
		}
		return
	}
	last := w.last[e.Service]
	switch e.Kind {
	case history.KindState:
		if e.State == "failed" && last == "starting" && !strings.HasPrefix(e.Message, "respawn limit") {
			w.Out = append(w.Out, Interruption{Service: e.Service, Time: e.Time, Kind: IntFailedStart, Message: e.Message})
		}
		w.last[e.Service] = e.State
		w.state[e.Service] = stateAt{e.State, e.Time}
	case history.KindExit:
		if last != "running" && last != "starting" {
			return
		}
		if e.ExitCode != nil && *e.ExitCode == 0 && e.Signal == "" {
			return // a clean end; if it is respawned, the respawn says so
		}
		w.Out = append(w.Out, Interruption{Service: e.Service, Time: e.Time, Kind: IntExit, ExitCode: e.ExitCode, Signal: e.Signal, Message: e.Message})
	case history.KindRespawn:
		w.Out = append(w.Out, Interruption{Service: e.Service, Time: e.Time, Kind: IntRespawn, Message: e.Message})
	case history.KindRespawnLimit:
		w.Out = append(w.Out, Interruption{Service: e.Service, Time: e.Time, Kind: IntRespawnLimit, Message: e.Message})
	}
}

// States is each service's last recorded state and since when.
func (w *Walker) States() map[string]stateAt { return w.state }
