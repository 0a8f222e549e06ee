package lifecycle

import (
	"fmt"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

// A service's intent is whether it may run: enabled, or disabled by
// `herd disable` or by its respawn limit. Unlike its state, the intent
// outlives the daemon (as `systemctl enable` does): the machine says
// when it changes (KeepIntent), the runtime keeps it in the history
// store, and a daemon that starts again builds the machine from it
// (Boot). What a start, a crash or a stop changes is state, not intent.

// Cause says what disabled a service.
type Cause int

// The causes of a disabled service.
const (
	CauseNone Cause = iota
	// CauseUser: `herd disable` (Disable).
	CauseUser
	// CauseRespawnLimit: it respawned too often (its respawn-limit).
	CauseRespawnLimit
)

func (c Cause) String() string {
	switch c {
	case CauseUser:
		return "herd disable"
	case CauseRespawnLimit:
		return "respawn limit"
	}
	return ""
}

// MarshalText names the cause for JSON (the history store's records, a
// re-exec's handover): "herd-disable", "respawn-limit".
func (c Cause) MarshalText() ([]byte, error) {
	switch c {
	case CauseNone:
		return []byte{}, nil
	case CauseUser:
		return []byte("herd-disable"), nil
	case CauseRespawnLimit:
		return []byte("respawn-limit"), nil
	}
	return nil, fmt.Errorf("unknown cause %d", int(c))
}

// UnmarshalText reads what MarshalText wrote; an unknown name is an error.
func (c *Cause) UnmarshalText(b []byte) error {
	switch string(b) {
	case "":
		*c = CauseNone
	case "herd-disable":
		*c = CauseUser
	case "respawn-limit":
		*c = CauseRespawnLimit
	default:
		return fmt.Errorf("unknown cause %q", b)
	}
	return nil
}

// Disabled says since when and why a service is disabled. The zero value
// is an enabled service (or one disabled before this was known: a
// machine handed over by an older daemon).
type Disabled struct {
	At    time.Time `json:"at,omitzero"`
	Cause Cause     `json:"cause,omitempty"`
	// Who asked, for CauseUser ("uid 1000"), as Disable said.
	Who string `json:"who,omitempty"`
	// Reason is the respawn limit's message, for CauseRespawnLimit
	// ("respawn limit hit: 5 respawns within 7s").
	Reason string `json:"reason,omitempty"`
}

// KeepIntent is an effect: the service's intent changed (enabled, or
// disabled and why). The runtime keeps it, durably, so that a restart of
// the daemon brings it back (Boot); Disabled is zero when Enabled.
type KeepIntent struct {
	Enabled  bool
	Disabled Disabled
}

func (KeepIntent) effect() {}

// setEnabled enables the machine; it reports the change of intent, if any.
func (m *Machine) setEnabled(emit func(...Effect)) {
	if m.enabled {
		return
	}
	m.enabled, m.disabled = true, Disabled{}
	emit(KeepIntent{Enabled: true})
}

// setDisabled disables the machine for d; it reports the change of
// intent, if any: a service disabled again for the same cause keeps the
// time it was first disabled.
func (m *Machine) setDisabled(d Disabled, emit func(...Effect)) {
	if !m.enabled && m.disabled.Cause == d.Cause {
		return
	}
	m.enabled, m.disabled = false, d
	emit(KeepIntent{Disabled: d})
}

// refused answers a start of a disabled service: why it is disabled, and
// what to do (for herd, and for the dependents whose start it fails).
func (m *Machine) refused() Result {
	d, why := m.disabled, "it is disabled"
	switch d.Cause {
	case CauseUser:
		why = "it was disabled with herd disable"
		if d.Who != "" {
			why += " (" + d.Who + ")"
		}
	case CauseRespawnLimit:
		why = d.Reason
	}
	return Result{Outcome: OutFailed, Refused: true, Reason: why + "; run `herd enable " + m.policy.Name + "` to start it again"}
}

// Boot builds the machine of a service at the start of a daemon, from
// its kept intent (nil: enabled): a service disabled by `herd disable`
// is stopped and disabled; one disabled by its respawn limit is failed
// and disabled as it was, its cooldown, if it has one, running from the
// time the limit was hit (due at once if it is over). The effects arm
// that timer.
func Boot(p services.Policy, d *Disabled, now time.Time) (*Machine, []Effect) {
	if d == nil {
		return NewMachine(p, now), nil
	}
	s := Saved{State: Stopped, Since: now, Disabled: *d}
	if d.Cause == CauseRespawnLimit {
		s.State, s.Since = Failed, d.At
		s.DisabledByLimit, s.Failing, s.FailedAt, s.FailReason = true, true, d.At, d.Reason
		if p.RespawnCooldown > 0 {
			s.TimerDue = d.At.Add(p.RespawnCooldown)
		}
	}
	return Restore(p, s, now)
}
