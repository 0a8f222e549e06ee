package notify

import (
	"fmt"
	"time"

	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// Events are what a Message tells the service's machine, in the order
// systemd applies a message's variables. MAINPID= is not among them: the
// process it names must first be checked and adopted (proc.AdoptPID).
func Events(m Message, at time.Time) []lifecycle.Event {
	var evs []lifecycle.Event
	if m.HasStatus {
		evs = append(evs, lifecycle.StatusText{Text: m.Status, At: at})
	}
	if m.Reloading {
		evs = append(evs, lifecycle.Reloading{At: at})
	}
	if m.Stopping {
		evs = append(evs, lifecycle.StoppingNotice{At: at})
	}
	if m.Ready {
		evs = append(evs, lifecycle.Ready{At: at})
	}
	if m.Extend > 0 {
		evs = append(evs, lifecycle.ExtendTimeout{By: m.Extend, At: at})
	}
	if m.Watchdog || m.WatchdogTrigger {
		evs = append(evs, lifecycle.WatchdogPing{Trigger: m.WatchdogTrigger, At: at})
	}
	return evs
}

// News says, for the log, what was refused or malformed since prev:
// how many, and the last reason.
func (s Stats) News(prev Stats) []string {
	var out []string
	if s.Refused > prev.Refused {
		out = append(out, fmt.Sprintf("datagrams refused: %d (last: %s)", s.Refused-prev.Refused, s.LastRefusal))
	}
	if s.Malformed > prev.Malformed {
		out = append(out, fmt.Sprintf("malformed datagrams ignored: %d (last: %s)", s.Malformed-prev.Malformed, s.LastMalformed))
	}
	return out
}
