package timer

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
	"github.com/shepherd-go/shepherd/services/timing"
)

// records is a history store holding one timer record.
type records map[string][]byte

func (r records) Record(kind, key string) ([]byte, error) {
	if kind != RecordKind {
		return nil, nil
	}
	return r[key], nil
}

// harness runs one timer actor against a fake controller and a fake
// history writer, each an actor that hands what it gets to the test.
type harness struct {
	t       *testing.T
	sys     *actor.ActorSystem
	timer   *actor.PID
	board   *Board
	peers   chan *service.PeerRequest
	history chan *historian.Record
}

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, timer services.Timer, rec records, started time.Time) *harness {
	h := &harness{t: t, sys: actor.NewActorSystem(), peers: make(chan *service.PeerRequest, 16), history: make(chan *historian.Record, 64)}
	ctl := h.sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*service.PeerRequest); ok {
			h.peers <- m
		}
	}))
	hist := h.sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*historian.Record); ok {
			h.history <- m
		}
	}))
	h.board = &Board{Send: h.sys.Root.Send, Now: func() time.Time { return now }}
	env := Env{Historian: hist, Records: rec, Send: h.sys.Root.Send, Started: started,
		Now: func() time.Time { return now }, Jitter: func() float64 { return 0 }, Logf: t.Logf}
	spec := &services.Spec{Name: "job", Command: []string{"true"}, OneShot: true, Timer: &timer}
	h.timer = h.sys.Root.Spawn(h.board.Factory(env)(spec, ctl))
	t.Cleanup(func() { h.sys.Root.StopFuture(h.timer).Wait() })
	return h
}

func (h *harness) peer(want lifecycle.PeerOp) {
	h.t.Helper()
	select {
	case m := <-h.peers:
		if m.Op != want {
			h.t.Fatalf("the controller was asked %v, want %v", m.Op, want)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatalf("the controller was not asked %v", want)
	}
}

func (h *harness) noPeer() {
	h.t.Helper()
	select {
	case m := <-h.peers:
		h.t.Fatalf("the controller was asked %v, want nothing", m.Op)
	case <-time.After(100 * time.Millisecond):
	}
}

func (h *harness) trigger() timing.Action {
	ch := make(chan timing.Action, 1)
	h.sys.Root.Send(h.timer, &Trigger{Reply: ch})
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		h.t.Fatal("no answer to a trigger")
	}
	return 0
}

func (h *harness) reply(op lifecycle.PeerOp, res lifecycle.Result) {
	h.sys.Root.Send(h.timer, &service.PeerReply{Name: "job", Op: op, Result: res})
}

// lastRecord waits for a record of the timer that satisfies ok.
func (h *harness) lastRecord(ok func(Run) bool) Run {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-h.history:
			for _, r := range m.Records {
				var run Run
				if json.Unmarshal(r.Value, &run) == nil && ok(run) {
					if !m.Sync {
						h.t.Error("a timer's record is written without a sync")
					}
					return run
				}
			}
		case <-deadline:
			h.t.Fatal("no such record of the timer")
		}
	}
}

// event waits for a history event with text.
func (h *harness) event(text string) {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-h.history:
			for _, e := range m.Events {
				if strings.Contains(e.Message, text) {
					if len(m.Records) != 1 || !m.Sync {
						h.t.Errorf("the event %q is not written with the timer's record, synced", text)
					}
					return
				}
			}
		case <-deadline:
			h.t.Fatalf("no history event saying %q", text)
		}
	}
}

func TestOverlapQueue(t *testing.T) {
	h := newHarness(t, services.Timer{Every: time.Hour, Overlap: services.OverlapQueue}, nil, now)
	if a := h.trigger(); a != timing.Start {
		t.Fatalf("first trigger: %v", a)
	}
	h.peer(lifecycle.PeerStart)
	if a := h.trigger(); a != timing.Queue {
		t.Fatalf("trigger while running: %v, want queue", a)
	}
	if a := h.trigger(); a != timing.Skip {
		t.Fatalf("trigger with one queued: %v, want skip", a)
	}
	h.noPeer()
	h.reply(lifecycle.PeerStart, lifecycle.Result{Outcome: lifecycle.OutStarted})
	h.peer(lifecycle.PeerStart) // the queued run
	h.noPeer()
	h.reply(lifecycle.PeerStart, lifecycle.Result{Outcome: lifecycle.OutFailed, Reason: "one-shot process exited with code 3"})
	run := h.lastRecord(func(r Run) bool { return !r.Running && r.Result != "success" })
	if run.Result != "failed: one-shot process exited with code 3" {
		t.Errorf("result %q", run.Result)
	}
}

func TestOverlapKill(t *testing.T) {
	h := newHarness(t, services.Timer{Every: time.Hour, Overlap: services.OverlapKill}, nil, now)
	h.trigger()
	h.peer(lifecycle.PeerStart)
	if a := h.trigger(); a != timing.Restart {
		t.Fatalf("trigger while running: %v, want restart", a)
	}
	h.peer(lifecycle.PeerStop)
	// The stop is answered after the aborted start, or before it.
	h.reply(lifecycle.PeerStop, lifecycle.Result{Outcome: lifecycle.OutStopped})
	h.noPeer()
	h.reply(lifecycle.PeerStart, lifecycle.Result{Outcome: lifecycle.OutFailed, Reason: "stopped while starting"})
	h.peer(lifecycle.PeerStart)
	h.noPeer()
}

func TestOverlapSkip(t *testing.T) {
	h := newHarness(t, services.Timer{Every: time.Hour}, nil, now)
	h.trigger()
	h.peer(lifecycle.PeerStart)
	if a := h.trigger(); a != timing.Skip {
		t.Fatalf("trigger while running: %v, want skip", a)
	}
	h.noPeer()
	h.reply(lifecycle.PeerStart, lifecycle.Result{Outcome: lifecycle.OutStarted})
	h.lastRecord(func(r Run) bool { return r.Result == "success" })
	if a := h.trigger(); a != timing.Start {
		t.Fatalf("trigger after the run: %v", a)
	}
}

// TestPersistentCatchUp: a persistent timer whose last firing was made
// before the daemon started, and whose next is past, fires at once,
// says so, and keeps the time of the catch-up.
func TestPersistentCatchUp(t *testing.T) {
	last, _ := json.Marshal(Run{Due: now.Add(-3 * time.Hour)})
	h := newHarness(t, services.Timer{Every: time.Hour, Persistent: true}, records{"job": last}, now.Add(-time.Minute))
	h.peer(lifecycle.PeerStart)
	// The event comes with the record, synced, before the start.
	h.event("catching up the run due at 2026-03-10 10:00:00")
	h.reply(lifecycle.PeerStart, lifecycle.Result{Outcome: lifecycle.OutStarted})
	run := h.lastRecord(func(r Run) bool { return r.Result == "success" })
	if !run.Due.Equal(now) {
		t.Errorf("kept %v, want the catch-up's time %v", run.Due, now)
	}
	h.noPeer()
	h.onBoard(func(ti wire.TimerInfo) bool {
		return ti.Next.Equal(now.Add(time.Hour)) && ti.Result == "success" && ti.Persistent && !ti.Running
	})
}

// onBoard waits until the board shows the timer as ok says.
func (h *harness) onBoard(ok func(wire.TimerInfo) bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := h.board.List()
		if len(l.Timers) == 1 && ok(l.Timers[0]) {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("board: %+v", l.Timers)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReexecFiresOnceNoCatchUp: the same record, made by the daemon that
// re-executed itself since (its first start before the firing): the due
// time is made at once, not as a catch-up; a timer that is not
// persistent too.
func TestReexecFiresOnceNoCatchUp(t *testing.T) {
	last, _ := json.Marshal(Run{Due: now.Add(-90 * time.Minute)})
	h := newHarness(t, services.Timer{Every: time.Hour}, records{"job": last}, now.Add(-2*time.Hour))
	h.peer(lifecycle.PeerStart)
	h.event("started by its timer")
	h.noPeer()
}

// TestBootSkipsWithoutPersistent: missed while down, not persistent:
// nothing now, the next in an interval.
func TestBootSkipsWithoutPersistent(t *testing.T) {
	last, _ := json.Marshal(Run{Due: now.Add(-3 * time.Hour), Start: now.Add(-3 * time.Hour), Result: "success"})
	h := newHarness(t, services.Timer{Every: time.Hour}, records{"job": last}, now.Add(-time.Minute))
	h.noPeer()
	h.onBoard(func(ti wire.TimerInfo) bool {
		return ti.Next.Equal(now.Add(time.Hour)) && ti.Result == "success" && ti.Last.Equal(now.Add(-3*time.Hour))
	})
}

// TestReloadedTimer: a reload with the same timer keeps the next firing;
// a new schedule counts from now.
func TestReloadedTimer(t *testing.T) {
	last, _ := json.Marshal(Run{Due: now.Add(-3 * time.Hour)})
	h := newHarness(t, services.Timer{Every: time.Hour}, records{"job": last}, now.Add(-time.Minute))
	h.onBoard(func(ti wire.TimerInfo) bool { return ti.Next.Equal(now.Add(time.Hour)) })
	spec := &services.Spec{Name: "job", Command: []string{"other"}, OneShot: true, Timer: &services.Timer{Every: time.Hour}}
	h.sys.Root.Send(h.timer, &service.ReplaceSpec{Spec: spec})
	h.noPeer()
	spec = &services.Spec{Name: "job", Command: []string{"other"}, OneShot: true, Timer: &services.Timer{Every: 2 * time.Hour}}
	h.sys.Root.Send(h.timer, &service.ReplaceSpec{Spec: spec})
	h.onBoard(func(ti wire.TimerInfo) bool { return ti.Next.Equal(now.Add(2*time.Hour)) && ti.Schedule == "every 2h" })
	h.noPeer()
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		timer services.Timer
		want  string
	}{
		{services.Timer{Every: 10 * time.Minute}, "every 10m"},
		{services.Timer{Every: 90 * time.Minute, RandomizedDelay: 5 * time.Minute}, "every 1h30m (+ up to 5m)"},
		{services.Timer{Every: 1500 * time.Millisecond}, "every 1.5s"},
		{services.Timer{Calendar: "Mon..Fri 02:30"}, "Mon..Fri 02:30"},
	} {
		if got := Describe(&tc.timer); got != tc.want {
			t.Errorf("Describe(%+v) = %q, want %q", tc.timer, got, tc.want)
		}
	}
}
