package notify

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxDatagram is the largest datagram taken (systemd's limit too): a
// longer one is dropped whole.
const MaxDatagram = 4096

// MaxStatus bounds the STATUS= text kept, in bytes (cut at a character's
// boundary).
const MaxStatus = 512

// maxPID is the kernel's largest pid_max (2^22).
const maxPID = 1 << 22

// maxExtend bounds EXTEND_TIMEOUT_USEC: a day is more than any start
// needs, and keeps the arithmetic on times far from overflowing.
const maxExtend = 24 * time.Hour

// Message is what one datagram said; the zero Message says nothing.
type Message struct {
	// Ready: READY=1. Reloading: RELOADING=1. Stopping: STOPPING=1.
	Ready, Reloading, Stopping bool
	// Watchdog: WATCHDOG=1; WatchdogTrigger: WATCHDOG=trigger.
	Watchdog, WatchdogTrigger bool
	// Status is STATUS= (HasStatus set), cut to MaxStatus bytes, with
	// control characters replaced by spaces.
	Status    string
	HasStatus bool
	// MainPID is MAINPID=, or 0.
	MainPID int
	// Extend is EXTEND_TIMEOUT_USEC=, or 0.
	Extend time.Duration
	// Sender is the PID the kernel says sent it.
	Sender int
}

// merge folds n, which came after m, into m: flags add up, the later
// value of each variable wins.
func (m *Message) merge(n Message) {
	m.Ready = m.Ready || n.Ready
	m.Reloading = m.Reloading || n.Reloading
	m.Stopping = m.Stopping || n.Stopping
	m.Watchdog = m.Watchdog || n.Watchdog
	m.WatchdogTrigger = m.WatchdogTrigger || n.WatchdogTrigger
	if n.HasStatus {
		m.Status, m.HasStatus = n.Status, true
	}
	if n.MainPID != 0 {
		m.MainPID = n.MainPID
	}
	if n.Extend != 0 {
		m.Extend = n.Extend
	}
	m.Sender = n.Sender
}

// ErrMalformed is wrapped by every error of Parse.
var ErrMalformed = errors.New("malformed notification")

// Parse reads one datagram: newline-separated VARIABLE=VALUE assignments,
// as sd_notify(3) sends them. Variables it does not know (FDSTORE=1,
// BARRIER=1, ERRNO=, X_...) are ignored, as systemd ignores what it does
// not know. A datagram that is not UTF-8 text, or holds a NUL, is dropped
// whole; a line that is not an assignment, or a known variable with a bad
// value, is skipped. The error (wrapping ErrMalformed) names the first
// problem; the Message holds what was good.
func Parse(b []byte) (Message, error) {
	var m Message
	if len(b) > MaxDatagram {
		return Message{}, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(b), MaxDatagram)
	}
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return Message{}, fmt.Errorf("%w: not text (NUL or invalid UTF-8)", ErrMalformed)
	}
	var first error
	bad := func(format string, args ...any) {
		if first == nil {
			first = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
		}
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || name == "" {
			bad("%q is not VARIABLE=VALUE", clip(line))
			continue
		}
		switch name {
		case "READY", "RELOADING", "STOPPING":
			if value != "1" {
				bad("%s=%q (expected 1)", name, clip(value))
				continue
			}
			switch name {
			case "READY":
				m.Ready = true
			case "RELOADING":
				m.Reloading = true
			default:
				m.Stopping = true
			}
		case "WATCHDOG":
			switch value {
			case "1":
				m.Watchdog = true
			case "trigger":
				m.WatchdogTrigger = true
			default:
				bad("WATCHDOG=%q (expected 1 or trigger)", clip(value))
			}
		case "STATUS":
			m.Status, m.HasStatus = cleanStatus(value), true
		case "MAINPID":
			pid, err := strconv.Atoi(value)
			if err != nil || pid <= 0 || pid > maxPID {
				bad("MAINPID=%q is not a PID", clip(value))
				continue
			}
			m.MainPID = pid
		case "EXTEND_TIMEOUT_USEC":
			us, err := strconv.ParseUint(value, 10, 64)
			if err != nil {
				bad("EXTEND_TIMEOUT_USEC=%q is not a number of microseconds", clip(value))
				continue
			}
			m.Extend = maxExtend
			if us < uint64(maxExtend/time.Microsecond) {
				m.Extend = time.Duration(us) * time.Microsecond
			}
		}
	}
	return m, first
}

// cleanStatus bounds STATUS= and replaces control characters: it is
// shown by herd status, on terminals and in logs.
func cleanStatus(s string) string {
	if len(s) > MaxStatus {
		cut := MaxStatus
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// clip shortens what an error quotes of a datagram.
func clip(s string) string {
	if len(s) > 40 {
		i := 40
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "..."
	}
	return s
}
