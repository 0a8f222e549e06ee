package caretaker

import (
	"fmt"
	"time"

	"github.com/shepherd-go/shepherd/capability"
)

// Every allowed use of a capability used to be an audit event of its own.
// A collector pulling a host's facts wrote one for every page, forever,
// into the very history it pulls, so it never caught up with the host
// (and stored its own trail). Uses of read-only rights are now recorded
// once per caller, target and right per UseWindow: the first in full,
// the next one after the window with how many came between. Uses of
// rights that change something (start, exec, write, ...) are all
// recorded.

// UseWindow is a variable for tests.
var UseWindow = time.Hour

// useKeys bounds the callers, targets and rights the limiter remembers;
// past it, uses are recorded in full (a peer can mint new IDs at will,
// and the table must not grow with them).
const useKeys = 1024

// useLimiter decides which allowed uses become events. It is pure: the
// caller supplies the time and records what it says.
type useLimiter struct {
	window time.Duration
	seen   map[useKey]*useCount
}

type useKey struct{ who, target, action string }

type useCount struct {
	recorded time.Time // the last use recorded
	more     int       // uses since, not recorded
}

// use takes one allowed use of action on target by who. record says to
// record it, with result as the event's result.
func (l *useLimiter) use(who, target, action string, now time.Time) (record bool, result string) {
	if !readOnly(target, action) {
		return true, "allowed"
	}
	k := useKey{who, target, action}
	c := l.seen[k]
	if c != nil && now.Sub(c.recorded) < l.window {
		c.more++
		return false, ""
	}
	result = "allowed"
	if c != nil && c.more > 0 {
		result = fmt.Sprintf("allowed (and %s since %s)", moreTimes(c.more), c.recorded.Format(time.DateTime))
	}
	if c == nil {
		if l.seen == nil {
			l.seen = map[useKey]*useCount{}
		}
		if len(l.seen) >= useKeys {
			l.sweep(now)
		}
		if len(l.seen) >= useKeys {
			return true, result
		}
		c = &useCount{}
		l.seen[k] = c
	}
	c.recorded, c.more = now, 0
	return true, result
}

// sweep forgets the uses whose window passed with nothing counted.
func (l *useLimiter) sweep(now time.Time) {
	for k, c := range l.seen {
		if c.more == 0 && now.Sub(c.recorded) >= l.window {
			delete(l.seen, k)
		}
	}
}

// readOnly says whether a right only reads: a service's status or log, a
// collector's facts, a read capability's files and snapshots, a file
// capability's reads.
func readOnly(target, action string) bool {
	switch {
	case target == capability.FactsTarget, target == capability.ReadTarget:
		return true
	case target == capability.FilesTarget:
		return action == capability.ReadAction
	}
	return action == "status" || action == capability.LogAction
}
