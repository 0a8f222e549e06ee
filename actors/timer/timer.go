package timer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/calendar"
	"github.com/shepherd-go/shepherd/services/lifecycle"
	"github.com/shepherd-go/shepherd/services/timing"
)

// RecordKind is the history store's record of a timer: a Run, keyed by
// the service's name.
const RecordKind = "timer"

// Run is what a timer keeps of its last firing and its last run.
type Run struct {
	// Due is the kept time of the last firing of the timer
	// (timing.Plan.Keep; not of `herd trigger`): the next is counted
	// from it.
	Due time.Time `json:"due,omitzero"`
	// Start, End, Result and Duration are the last run's, however it
	// was started (the timer, herd trigger). Running: not ended yet.
	Start    time.Time     `json:"start,omitzero"`
	End      time.Time     `json:"end,omitzero"`
	Result   string        `json:"result,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	Running  bool          `json:"running,omitempty"`
}

// Env is what a timer actor needs of the daemon.
type Env struct {
	// Historian writes the record and the events; Records reads the
	// record back when the actor starts (nil: none).
	Historian *actor.PID
	Records   interface {
		Record(kind, key string) ([]byte, error)
	}
	Logf func(format string, args ...any)
	// Started is when the daemon first started, kept across re-execs: a
	// last firing before it was made by a daemon that went down since.
	Started time.Time
	// Send sends from outside an actor (the time.Timer's goroutine).
	Send func(pid *actor.PID, msg any)
	// Board lists the timers; nil: none.
	Board *Board
	// Now and Jitter stand in for the clock and the random delay's draw
	// in tests. Nil: time.Now and math/rand.
	Now    func() time.Time
	Jitter func() float64
}

// Trigger runs the timer's service now (`herd trigger`), as a firing
// would while a run runs (the overlap); Reply, buffered, gets what it did.
type Trigger struct{ Reply chan<- timing.Action }

// fire is the time.Timer's expiry; gen tells a stale one.
type fire struct{ gen uint64 }

// state is the actor's, kept outside the actor object: a restart of the
// actor keeps it.
type state struct {
	env        Env
	spec       *services.Spec
	cal        *calendar.Expr
	controller *actor.PID
	self       *actor.PID
	plan       timing.Plan
	timer      *time.Timer
	gen        uint64
	last       Run
	// running: a start was asked and not answered; queued: one more run
	// after it; restart: a kill's stop was asked, a start follows.
	running, queued, restart bool
}

type timerActor struct{ st *state }

// NewProps makes the timer actor of the timer service s, whose
// controller is controller.
func NewProps(env Env, s *services.Spec, controller *actor.PID) *actor.Props {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Jitter == nil {
		env.Jitter = rand.Float64
	}
	if env.Logf == nil {
		env.Logf = func(string, ...any) {}
	}
	st := &state{env: env, spec: s, controller: controller}
	return actor.PropsFromProducer(func() actor.Actor { return &timerActor{st: st} })
}

func (a *timerActor) Receive(ctx actor.Context) {
	st := a.st
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if st.timer != nil {
			return // restarted: armed already
		}
		st.self = ctx.Self()
		a.readRecord()
		a.setSpec(st.spec)
		mode := timing.Reexec
		if !st.last.Due.After(st.env.Started) {
			mode = timing.Boot
		}
		a.plan(ctx, mode)
	case *fire:
		if msg.gen != st.gen {
			return
		}
		now := st.env.Now()
		if d := st.plan.At.Sub(now); d > 10*time.Millisecond {
			a.arm(ctx, d) // the wall clock was set back: not yet
			return
		}
		a.onFire(ctx, now)
	case *Trigger:
		act := timing.OnFire(st.spec.Timer.Overlap, st.running, st.queued)
		a.act(ctx, act, st.env.Now(), "herd trigger")
		msg.Reply <- act
	case *service.PeerReply:
		a.onReply(ctx, msg)
	case *service.ReplaceSpec:
		if msg.Spec.Timer == nil {
			return
		}
		same := *msg.Spec.Timer == *st.spec.Timer
		a.setSpec(msg.Spec)
		if !same {
			// A new schedule counts from now: what the old one fired
			// says nothing of when the new one is due.
			st.last.Due = time.Time{}
			a.plan(ctx, timing.Fired)
		}
	case *actor.Stopping:
		st.gen++
		if st.timer != nil {
			st.timer.Stop()
		}
		if st.env.Board != nil {
			st.env.Board.remove(st.spec.Name, ctx.Self())
		}
	}
}

// readRecord reads the timer's record: its last firing and run.
func (a *timerActor) readRecord() {
	st := a.st
	if st.env.Records == nil {
		return
	}
	b, err := st.env.Records.Record(RecordKind, st.spec.Name)
	if err != nil {
		st.env.Logf("service %s: its timer's last run cannot be read from history (a persistent timer will not catch up): %v", st.spec.Name, err)
		return
	}
	if b != nil && json.Unmarshal(b, &st.last) != nil {
		st.env.Logf("service %s: its timer's record in history is malformed: ignored", st.spec.Name)
		st.last = Run{}
	}
	if st.last.Running {
		// The daemon went away during the run: its end is unknown.
		st.last.Running, st.last.Result = false, "unknown (the daemon stopped during the run)"
	}
}

func (a *timerActor) setSpec(s *services.Spec) {
	st := a.st
	st.spec, st.cal = s, nil
	if s.Timer.Calendar != "" {
		cal, err := calendar.Parse(s.Timer.Calendar, time.Local)
		if err != nil { // checked when the file was read
			st.env.Logf("service %s: timer calendar: %v; it will not fire", s.Name, err)
		}
		st.cal = cal
	}
}

// lastDue is the due time the next firing is counted from: a one-time
// job's own only if the record is of this job (a name may be used again).
func (a *timerActor) lastDue() time.Time {
	st := a.st
	if at := st.spec.Timer.At; !at.IsZero() && !st.last.Due.Equal(at) {
		return time.Time{}
	}
	return st.last.Due
}

// plan decides the next firing and arms for it.
func (a *timerActor) plan(ctx actor.Context, mode timing.Mode) {
	st := a.st
	now := st.env.Now()
	st.plan = timing.Next(*st.spec.Timer, st.cal, a.lastDue(), now, mode, st.env.Jitter())
	if st.plan.Never() {
		st.gen++
		if st.timer != nil {
			st.timer.Stop()
		}
	} else {
		a.arm(ctx, st.plan.At.Sub(now))
	}
	a.publish()
}

func (a *timerActor) arm(ctx actor.Context, d time.Duration) {
	st := a.st
	st.gen++
	if st.timer != nil {
		st.timer.Stop()
	}
	gen, self, send := st.gen, ctx.Self(), st.env.Send
	st.timer = time.AfterFunc(max(d, 0), func() { send(self, &fire{gen: gen}) })
}

// onFire is a firing of the timer: the run (as the overlap says), its
// record, and the next firing.
func (a *timerActor) onFire(ctx actor.Context, now time.Time) {
	st := a.st
	p := st.plan
	st.last.Due = p.Keep
	why := "timer"
	if p.CatchUp {
		why = fmt.Sprintf("timer (persistent: catching up the run due at %s, missed while the daemon was down)", p.Due.Format(time.DateTime))
	}
	act := timing.OnFire(st.spec.Timer.Overlap, st.running, st.queued)
	a.act(ctx, act, now, why)
	if act != timing.Start {
		a.keep(nil) // the due time, for the next firing
	}
	a.plan(ctx, timing.Fired)
}

// act carries a firing's action out.
func (a *timerActor) act(ctx actor.Context, act timing.Action, now time.Time, why string) {
	st := a.st
	switch act {
	case timing.Start:
		a.start(ctx, now, why)
	case timing.Skip:
		a.event(ctx, "skip", why+": skipped, the last run still runs (overlap: skip)")
	case timing.Queue:
		st.queued = true
		a.event(ctx, "queue", why+": queued after the run that still runs (overlap: queue)")
	case timing.Restart:
		st.restart = true
		a.event(ctx, "kill", why+": the last run still runs and is stopped (overlap: kill)")
		ctx.Send(st.controller, &service.PeerRequest{Op: lifecycle.PeerStop, From: ctx.Self()})
	}
	a.publish()
}

// start asks the controller to start the service, once its record says
// so durably.
func (a *timerActor) start(ctx actor.Context, now time.Time, why string) {
	st := a.st
	st.running = true
	st.last.Start, st.last.End, st.last.Result, st.last.Duration, st.last.Running = now, time.Time{}, "", 0, true
	a.keep(&history.Event{Service: st.spec.Name, Kind: history.KindAction, Who: "timer", Action: "timer", Message: "started by its " + why})
	ctx.Send(st.controller, &service.PeerRequest{Op: lifecycle.PeerStart, From: ctx.Self()})
}

// onReply is the controller's answer: a run's end, or a kill's stop.
func (a *timerActor) onReply(ctx actor.Context, r *service.PeerReply) {
	st := a.st
	if r.Op == lifecycle.PeerStop {
		if st.restart {
			st.restart = false
			if !st.running {
				a.start(ctx, st.env.Now(), "timer (overlap: kill)")
			} else {
				st.queued = true // started once the stopped run's answer comes
			}
		}
		return
	}
	if r.Op != lifecycle.PeerStart || !st.running {
		return
	}
	now := st.env.Now()
	st.running = false
	st.last.End, st.last.Duration, st.last.Running = now, now.Sub(st.last.Start), false
	switch res := r.Result; {
	case res.Refused:
		st.last.Result = "disabled"
	case res.Outcome == lifecycle.OutStarted:
		st.last.Result = "success"
	case res.Outcome == lifecycle.OutStopped:
		st.last.Result = "stopped"
	default:
		st.last.Result = "failed"
		if res.Reason != "" {
			st.last.Result += ": " + res.Reason
		}
	}
	a.keep(nil)
	if st.queued {
		st.queued = false
		a.start(ctx, now, "timer (queued)")
	}
	if !st.spec.Timer.At.IsZero() && st.plan.Never() && !st.running && st.env.Board != nil {
		st.env.Board.remove(st.spec.Name, st.self) // a job that ran is listed no more
		return
	}
	a.publish()
}

// keep writes the record, synced, with ev if any.
func (a *timerActor) keep(ev *history.Event) {
	st := a.st
	b, _ := json.Marshal(st.last)
	rec := &historian.Record{Records: []history.Record{{Kind: RecordKind, Key: st.spec.Name, Value: b}}, Sync: true}
	if ev != nil {
		rec.Events = []history.Event{*ev}
	}
	st.env.Send(st.env.Historian, rec)
}

func (a *timerActor) event(ctx actor.Context, action, msg string) {
	st := a.st
	ctx.Send(st.env.Historian, &historian.Record{Events: []history.Event{{
		Service: st.spec.Name, Kind: history.KindAction, Who: "timer", Action: "timer", Result: action, Message: msg,
	}}})
}

// publish tells the board what `herd timers` shows.
func (a *timerActor) publish() {
	st := a.st
	if st.env.Board == nil {
		return
	}
	t := st.spec.Timer
	info := wire.TimerInfo{
		Service: st.spec.Name, Schedule: Describe(t), Persistent: t.Persistent && t.At.IsZero(), Overlap: string(t.Overlap),
		Next: st.plan.At, Last: st.last.Start, Result: st.last.Result, DurationMS: st.last.Duration.Milliseconds(),
		Running: st.running, Queued: st.queued,
	}
	if !t.At.IsZero() {
		info.OneTime, info.Command = true, st.spec.Command
	}
	if st.running {
		info.Result = "running"
	}
	st.env.Board.set(st.spec.Name, st.self, info)
}

// Describe is what a timer says, for people: its calendar, "every 10m",
// "at TIME".
func Describe(t *services.Timer) string {
	var s []string
	switch {
	case !t.At.IsZero():
		s = append(s, "at "+t.At.Local().Format(time.DateTime))
	case t.Every > 0:
		s = append(s, "every "+shortDuration(t.Every))
	default:
		s = append(s, t.Calendar)
	}
	if t.RandomizedDelay > 0 {
		s = append(s, "(+ up to "+shortDuration(t.RandomizedDelay)+")")
	}
	return strings.Join(s, " ")
}

// shortDuration is d as a configuration says it: 2h, 1h30m, 10m, 90s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
