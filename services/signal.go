package services

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// BadSignalError is a signal name or number that names no signal (herd
// kill -s, where it is the user's to correct).
type BadSignalError struct{ Name string }

func (e *BadSignalError) Error() string {
	return fmt.Sprintf("bad signal %q: name one such as TERM, HUP, INT, KILL, USR1 (or SIGTERM), or give its number, 1 to 64", e.Name)
}

// ParseSignal reads a signal as kill(1) and systemctl take one: a name
// with or without SIG, in any case (HUP, SIGHUP, hup), or a number from 1
// to 64. It returns a *BadSignalError for anything else: signal 0 sends
// nothing, and is no way to ask whether a service runs (herd is-active).
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return 0, &BadSignalError{Name: s}
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, &BadSignalError{Name: s}
}

// Whom `herd kill` signals (wire.KillMain, wire.KillAll): the main
// process alone, or every process of the service.
const (
	KillMain = "main"
	KillAll  = "all"
)

// ParseKillArgs reads a kill request's arguments, as the daemon gets them
// from any client: the signal (ParseSignal), then whom, KillMain or
// KillAll (KillAll when left out). A bad signal is a *BadSignalError.
func ParseKillArgs(args []string) (sig syscall.Signal, whom string, err error) {
	if len(args) < 1 || len(args) > 2 {
		return 0, "", fmt.Errorf("kill takes a signal and, optionally, whom to send it to (%s or %s)", KillMain, KillAll)
	}
	if sig, err = ParseSignal(args[0]); err != nil {
		return 0, "", err
	}
	whom = KillAll
	if len(args) == 2 {
		whom = args[1]
	}
	if whom != KillMain && whom != KillAll {
		return 0, "", fmt.Errorf("kill: whom to signal is %s or %s, not %q", KillMain, KillAll, whom)
	}
	return sig, whom, nil
}
