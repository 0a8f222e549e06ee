package caretaker

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Every refused request used to be an audit event of its own: a user
// without any capability wrote 181,200 events (28.6 MB) in 10 s. The
// refusals are now kept per caller and per window (RefusalWindow, opened
// by the first refusal after a quiet spell):
//
//   - the first refusal of each caller in a window is recorded in full,
//     up to refusalDetails in the window, all callers together;
//   - the others are counted, per caller for the first refusalCallers
//     callers of the window and together for any beyond (a peer can mint
//     new IDs at will: the table's size, not the callers, bounds memory);
//   - at the window's end one event per counted caller, for the
//     refusalSummaries callers refused most, and one for all the rest,
//     says how many more refusals there were.
//
// So whatever the callers do, a window costs at most refusalDetails +
// refusalSummaries + 1 events.
const (
	refusalDetails   = 10
	refusalCallers   = 100
	refusalSummaries = 10
)

// RefusalWindow is a variable for tests.
var RefusalWindow = time.Minute

// refusalLimiter decides which refusals become events. It is pure: the
// caller supplies the time and acts on what it returns.
type refusalLimiter struct {
	window  time.Duration
	start   time.Time // of the open window; zero when none is
	details int       // refusals recorded in full in this window
	callers map[string]*refusalCount
	// others counts refusals of callers beyond the table.
	others int
}

type refusalCount struct {
	recorded bool // its first refusal of the window was recorded
	more     int  // refusals counted, not recorded
	last     string
}

// refusalSummary is one event to record at a window's end. Who is empty
// for the callers beyond the table and the summaries.
type refusalSummary struct {
	Who     string
	Count   int
	Message string
}

// refuse takes one refusal of who (what says what was refused, as in
// "'start' on 'web'"). record says to record it in full; open says that
// it opened a window, whose end the caller must mark with flush.
func (l *refusalLimiter) refuse(who, what string, now time.Time) (record, open bool) {
	if l.start.IsZero() {
		l.start, open = now, true
		l.callers = map[string]*refusalCount{}
	}
	c := l.callers[who]
	if c == nil {
		if len(l.callers) >= refusalCallers {
			l.others++
			return false, open
		}
		c = &refusalCount{}
		l.callers[who] = c
	}
	if !c.recorded && l.details < refusalDetails {
		c.recorded = true
		l.details++
		return true, open
	}
	c.more++
	c.last = what
	return false, open
}

// flush closes the window and returns what to record about the refusals
// that were only counted.
func (l *refusalLimiter) flush() []refusalSummary {
	if l.start.IsZero() {
		return nil
	}
	window := l.window
	type counted struct {
		who string
		c   *refusalCount
	}
	var all []counted
	for who, c := range l.callers {
		if c.more > 0 {
			all = append(all, counted{who, c})
		}
	}
	slices.SortFunc(all, func(a, b counted) int {
		return cmp.Or(cmp.Compare(b.c.more, a.c.more), cmp.Compare(a.who, b.who))
	})
	var out []refusalSummary
	rest := l.others
	for i, a := range all {
		if i >= refusalSummaries {
			rest += a.c.more
			continue
		}
		out = append(out, refusalSummary{Who: a.who, Count: a.c.more, Message: fmt.Sprintf("refused %s in %v (the last: %s)", moreTimes(a.c.more), window, a.c.last)})
	}
	if rest > 0 {
		out = append(out, refusalSummary{Count: rest, Message: fmt.Sprintf("other callers were refused %s in %v", moreTimes(rest), window)})
	}
	*l = refusalLimiter{window: l.window}
	return out
}

func moreTimes(n int) string {
	if n == 1 {
		return "once more"
	}
	return fmt.Sprintf("%d more times", n)
}
