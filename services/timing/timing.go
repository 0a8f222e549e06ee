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
	// Keep is what to keep as the firing's time, from which the next
	// is counted: Due, or for a firing made late (a catch-up, a due
	// time passed during a re-exec or a suspend) the time it is made,
	// so that the firings it stands for are not made again.
	Keep time.Time
	// CatchUp: a persistent timer's firing missed while the daemon was
	// down, fired as it starts again.
	CatchUp bool
}

// Never reports whether the timer will not fire again.
func (p Plan) Never() bool { return p.At.IsZero() }

// Mode says why the next firing is planned.
type Mode int

const (
	// Fired: the timer just fired (or its definition changed).
	Fired Mode = iota
	// Boot: the timer is armed by a daemon that starts, after having
	// been down since the last firing (or never fired it): a persistent
	// timer catches a missed firing up; another skips it.
	Boot
	// Reexec: the timer is armed again by the daemon that last fired it
	// (a re-exec, a reload): a firing due meanwhile is made now.
	Reexec
)

// Next decides when timer t fires next. cal is its parsed calendar (nil
// for every and at); last is the kept time of its last firing
// (Plan.Keep; zero: none); jitter, in [0, 1), picks the random delay.
func Next(t services.Timer, cal *calendar.Expr, last, now time.Time, mode Mode, jitter float64) Plan {
	var p Plan
	late := false // a due time passed: fired now, once
	switch {
	case !t.At.IsZero():
		if !last.IsZero() {
			return Plan{} // it ran
		}
		p.Due = t.At
		late = !t.At.After(now)
	case t.Every > 0:
		if last.IsZero() {
			p.Due = now.Add(t.Every)
			break
		}
		p.Due = last.Add(t.Every)
		if p.Due.After(now) {
			break
		}
		if mode == Boot && !t.Persistent {
			p.Due = now.Add(t.Every) // missed while down: skipped
			break
		}
		late, p.CatchUp = true, mode == Boot
	case cal != nil:
		ref := last
		if ref.IsZero() {
			ref = now
		}
		due, ok := cal.Next(ref)
		if ok && !due.After(now) {
			if mode == Reexec || mode == Boot && t.Persistent {
				p.Due, late, p.CatchUp = due, true, mode == Boot
				break
			}
			due, ok = cal.Next(now) // missed while down, or late: skipped
		}
		if !ok {
			return Plan{}
		}
		p.Due = due
	default:
		return Plan{}
	}
	p.At, p.Keep = p.Due, p.Due
	if late {
		p.At, p.Keep = now, now
	}
	if !t.At.IsZero() {
		p.Keep = t.At // a job's record says it ran by naming its time
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
