package services

import (
	"slices"
	"syscall"
)

// ExitCodes are the exit statuses that count as success beside exit
// code 0, which always does (`exit-codes: [0, 143, SIGTERM]`): systemd's
// SuccessExitStatus=, supervisord's exitcodes. A JVM or a shell with a
// TERM trap exits 143 (128 + SIGTERM) when it is stopped; listing 143
// says that is how it ends well.
type ExitCodes struct {
	// Codes are exit codes (0..255).
	Codes []int `json:",omitempty"`
	// Signals are signals that end the process well when they kill it.
	Signals []syscall.Signal `json:",omitempty"`
}

// Success reports whether a process that exited with code (signal 0)
// or was killed by signal ended well: code 0, or one of the listed
// codes or signals.
func (e ExitCodes) Success(code int, signal syscall.Signal) bool {
	if signal != 0 {
		return slices.Contains(e.Signals, signal)
	}
	return code == 0 || slices.Contains(e.Codes, code)
}

// Empty reports whether nothing is listed (only code 0 is success).
func (e ExitCodes) Empty() bool { return len(e.Codes) == 0 && len(e.Signals) == 0 }
