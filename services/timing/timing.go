package timing

import (
	"time"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/calendar"
)

// Plan is when a timer fires next.
type Plan struct {
	// Due is the firing's scheduled time, before the random delay; At
	// is when it fires. Zero: never again.
	Due, At time.Time
	// CatchUp: a persistent timer's firing missed while the daemon was
	// down, fired as it is armed again.
	CatchUp bool
}

// Never reports whether the timer will not fire again.
func (p Plan) Never() bool { return p.At.IsZero() }

// Next decides when timer t fires next. cal is its parsed calendar (nil
// for every and at); last is the due time of its last firing (zero:
// none recorded); armed says the timer is being armed (the daemon
// starts or was re-executed, the service was loaded), when a persistent
// one catches up; jitter, in [0, 1), picks the random delay.
func Next(t services.Timer, cal *calendar.Expr, last, now time.Time, armed bool, jitter float64) Plan {
	var p Plan
	switch {
	case !t.At.IsZero():
		if !last.IsZero() {
			return Plan{} // it ran
		}
		p.Due = t.At
		if !t.At.After(now) {
			p.CatchUp = armed
		}
	case t.Every > 0:
		if last.IsZero() {
			p.Due = now.Add(t.Every)
			break
		}
		p.Due = last.Add(t.Every)
		if p.Due.After(now) {
			break
		}
		switch {
		case armed && t.Persistent:
			p.CatchUp = true
		case armed:
			p.Due = now.Add(t.Every) // missed while down: skipped
		default:
			p.Due = now // the daemon was late (a suspend): once, now
		}
	case cal != nil:
		ref := last
		if ref.IsZero() {
			ref = now
		}
		due, ok := cal.Next(ref)
		if ok && !due.After(now) {
			if armed && t.Persistent {
				p.Due, p.CatchUp = due, true
				break
			}
			due, ok = cal.Next(now)
		}
		if !ok {
			return Plan{}
		}
		p.Due = due
	default:
		return Plan{}
	}
	p.At = p.Due
	if p.CatchUp || p.At.Before(now) {
		p.At = now
	}
	if d := t.RandomizedDelay; d > 0 && jitter > 0 && jitter < 1 {
		p.At = p.At.Add(time.Duration(jitter * float64(d)))
	}
	return p
}

// Action is what a firing does.
type Action int

const (
	// Start the run.
	Start Action = iota + 1
	// Skip this firing: the last run still runs.
	Skip
	// Queue one run after the one running (one at most: a run already
	// queued absorbs this firing).
	Queue
	// Kill the run and start again once it has stopped.
	Restart
)

func (a Action) String() string {
	return [...]string{"?", "start", "skip", "queue", "restart"}[a]
}

// OnFire decides what a firing does: running says a run is in progress,
// queued that one is queued after it.
func OnFire(o services.Overlap, running, queued bool) Action {
	if !running {
		return Start
	}
	switch o {
	case services.OverlapQueue:
		if queued {
			return Skip
		}
		return Queue
	case services.OverlapKill:
		return Restart
	}
	return Skip
}
