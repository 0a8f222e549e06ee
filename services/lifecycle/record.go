package lifecycle

import (
	"fmt"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

// RecordKind says what a Record keeps. The kinds are the history's event
// kinds for a service's lifecycle, one to one: String returns the name the
// history stores ("state", "start", ...).
type RecordKind int

// The kinds of Record, in the order of history's kinds.
const (
	// RecordState is a state change: State, and Message for why (a failed
	// start, a stop that ended without the process's exit).
	RecordState RecordKind = iota + 1
	// RecordStart is a process started: PID.
	RecordStart
	// RecordExit is the main process reaped: PID, Runtime, and ExitCode, or
	// Signal, or Message when the exit status is unknown.
	RecordExit
	// RecordRespawn says an unexpected exit will be followed by a respawn.
	RecordRespawn
	// RecordRespawnLimit says the service respawned too often: it is
	// failed and disabled; Message says so.
	RecordRespawnLimit
)

func (k RecordKind) String() string {
	switch k {
	case RecordState:
		return "state"
	case RecordStart:
		return "start"
	case RecordExit:
		return "exit"
	case RecordRespawn:
		return "respawn"
	case RecordRespawnLimit:
		return "respawn-limit"
	}
	return fmt.Sprintf("RecordKind(%d)", int(k))
}

// Record is an effect: an event of the service's life worth keeping in
// history. The machine emits every one of them in the step that decides
// it, so the runtime stores what the machine says rather than working out
// from the states before and after what happened.
//
// The fields are those of a history event, ready to copy; a field a kind
// does not use is zero. Two facts the machine does not have are the
// runtime's to add: the command of a RecordStart (the spec the process was
// spawned from) and the resource usage of a RecordExit (from the reap).
//
// Within one step the records come in the order they happened: the input
// itself (RecordStart for Spawned, RecordExit for the exit of the main
// process), then for each state change its RecordState, followed after a
// crash by RecordRespawn or RecordRespawnLimit.
type Record struct {
	Kind RecordKind
	At   time.Time
	// State is the new state's name (RecordState only).
	State string
	PID   int
	// ExitCode is set for a process that exited; Signal names the signal
	// that killed one ("SIGKILL").
	ExitCode *int
	Signal   string
	// Runtime is how long the process ran (RecordExit).
	Runtime time.Duration
	Message string
}

func (Record) effect() {}

// exitRecord is what an exit of the main process keeps.
func exitRecord(x Exit) Record {
	r := Record{Kind: RecordExit, At: x.At, PID: x.PID, Runtime: x.Runtime}
	switch {
	case x.Status.Unknown:
		r.Message = "exit status unknown: another process reaped it"
	case x.Status.Signal != 0:
		r.Signal = services.SignalName(x.Status.Signal)
	default:
		code := x.Status.Code
		r.ExitCode = &code
	}
	return r
}
