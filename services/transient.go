package services

import (
	"fmt"
	"strconv"
	"strings"
)

// Transient services are what `herd spawn -- CMD` makes: a service like
// any other (cgroup, log, history, stop, capabilities), made at run time
// from a command rather than from a file, and removed from the daemon
// once it has stopped. Its history stays. The decisions are here; the
// registry (actors/registry) carries them out.

// TransientFile is what a transient service's Pos names as its file: no
// file (a reload leaves transients alone).
const TransientFile = "herd spawn"

// TransientPrefix begins the names the daemon gives transients that are
// not named: transient-1, transient-2, ... .
const TransientPrefix = "transient-"

// TransientName is the name of the nth unnamed transient.
func TransientName(n uint64) string { return TransientPrefix + strconv.FormatUint(n, 10) }

// IsTransientName says whether name is one the daemon gives (transient-N):
// a spawn may not take one by --name, or the next unnamed transient of
// that number would share its history.
func IsTransientName(name string) bool {
	n, ok := strings.CutPrefix(name, TransientPrefix)
	if !ok || n == "" {
		return false
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// NextTransient is the counter after the one kept (as the history store
// holds it, decimal; empty or malformed: none kept).
func NextTransient(kept []byte) uint64 {
	n, err := strconv.ParseUint(string(kept), 10, 64)
	if err != nil {
		return 1
	}
	return n + 1
}

// TransientEnd decides, from a change of a transient's state, whether it
// has ended and is to be removed. armed says it was seen starting,
// running or stopping since it was made (or handed over); moved that
// this change is a transition (a state entered, not a flag changed). A
// transient ends when it is stopped or failed after having run: a
// respawn goes through starting (its delay), never through stopped, so
// `--respawn` keeps it; an exit without respawn, a stop, a failed start
// and the respawn limit end it.
func TransientEnd(state string, armed, moved bool) (nowArmed, ended bool) {
	switch state {
	case "stopped", "failed":
		return false, armed || moved
	}
	return true, false
}

// CheckSpawnUser says whether a daemon running as daemonUID may run a
// command as the user uid: root may run as anyone, any other user only
// as itself.
func CheckSpawnUser(daemonUID int, user string, uid uint32) error {
	if daemonUID == 0 || uint32(daemonUID) == uid {
		return nil
	}
	return fmt.Errorf("permission denied: this daemon runs as uid %d and cannot run a command as %s (uid %d); spawn with the system shepherd (as root), or without --user", daemonUID, user, uid)
}

// ShellStatus is the exit status a shell gives a process that ended
// with code, or was killed by signal (a name, SIGKILL): 128 plus its
// number. A signal it cannot name gives 255.
func ShellStatus(code int, signal string) int {
	if signal == "" {
		return code
	}
	sig, err := ParseSignal(strings.TrimPrefix(signal, "signal ")) // SignalName's
	if err != nil {
		return 255
	}
	return 128 + int(sig)
}
