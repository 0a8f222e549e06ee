package jobbook

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/jobs"
)

type fake struct {
	mu  sync.Mutex
	now time.Time
	evs []history.Event
}

func (f *fake) clock() time.Time        { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fake) advance(d time.Duration) { f.mu.Lock(); f.now = f.now.Add(d); f.mu.Unlock() }

func newBook(t *testing.T, st *history.Store, f *fake, expect []jobs.Expect) *Book {
	return New(Env{Store: st, Now: f.clock, Expect: expect,
		Put:    func(r history.Record) error { return st.Write(nil, []history.Record{r}, false) },
		Record: func(e history.Event) { f.mu.Lock(); f.evs = append(f.evs, e); f.mu.Unlock() }})
}

func req(action string, v any) wire.Request {
	if s, ok := v.(string); ok {
		return wire.Request{Action: action, Args: []string{s}}
	}
	b, _ := json.Marshal(v)
	return wire.Request{Action: action, Args: []string{string(b)}}
}

func TestReportsNamespacesAndLate(t *testing.T) {
	st, err := history.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := &fake{now: time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)}
	b := newBook(t, st, f, []jobs.Expect{{Name: "backup", Every: 24 * time.Hour, Grace: time.Hour}})
	ctx := context.Background()
	owner := Caller{Owner: true, Who: "uid 1000"}
	alice := Caller{UID: 1001, Who: "uid 1001"}

	// The owner's run, start then end.
	rep := b.Serve(ctx, req(jobs.ActionStart, jobs.StartReport{Job: "backup", Command: []string{"borg", "create"}}), owner)
	var started jobs.Started
	json.Unmarshal(rep.Result, &started)
	if !rep.OK || started.Run != 1 {
		t.Fatalf("start: %+v", rep)
	}
	f.advance(time.Minute)
	code := 2
	rep = b.Serve(ctx, req(jobs.ActionEnd, jobs.EndReport{Job: "backup", Run: 1, Duration: time.Minute, ExitCode: &code, Output: []string{"disk full"}}), owner)
	if !rep.OK {
		t.Fatalf("end: %+v", rep.Error)
	}
	// Alice's "backup" is hers, not the owner's.
	zero := 0
	rep = b.Serve(ctx, req(jobs.ActionEnd, jobs.EndReport{Job: "backup", ExitCode: &zero}), alice)
	if !rep.OK {
		t.Fatalf("alice: %+v", rep.Error)
	}
	var l jobs.List
	json.Unmarshal(b.Serve(ctx, wire.Request{Action: jobs.ActionList}, owner).Result, &l)
	if len(l.Jobs) != 2 || l.Jobs[0].Name != "1001/backup" || l.Jobs[1].Name != "backup" || l.Jobs[1].State != jobs.StateFailed {
		t.Fatalf("owner's list %+v", l)
	}
	json.Unmarshal(b.Serve(ctx, wire.Request{Action: jobs.ActionList}, alice).Result, &l)
	if len(l.Jobs) != 1 || l.Jobs[0].Name != "backup" || l.Jobs[0].State != jobs.StateOK {
		t.Fatalf("alice's list %+v", l)
	}
	if rep := b.Serve(ctx, req(jobs.ActionShow, "../backup"), alice); rep.OK {
		t.Fatal("alice sees another's job")
	}
	// Without the right, a capability reports nothing.
	if rep := b.Serve(ctx, req(jobs.ActionEnd, jobs.EndReport{Job: "backup"}), Caller{Cap: new(capability.Swiss), Who: "peer"}); rep.OK || rep.Error.Kind != wire.PermissionDenied {
		t.Fatalf("capability without a caretaker: %+v", rep)
	}
	var d jobs.Detail
	json.Unmarshal(b.Serve(ctx, req(jobs.ActionShow, "backup"), owner).Result, &d)
	if len(d.Runs) != 1 || d.Runs[0].Result != jobs.ResultFailed || d.Runs[0].Output[0] != "disk full" || d.Runs[0].Command[0] != "borg" {
		t.Fatalf("show %+v", d)
	}

	// Late once per missed period, and a report resolves it.
	outcomes := func() (n map[string]int) {
		f.mu.Lock()
		defer f.mu.Unlock()
		n = map[string]int{}
		for _, e := range f.evs {
			if e.Kind == jobs.EventKind && e.Job == "backup" {
				n[e.Outcome]++
			}
		}
		return n
	}
	next := b.Tick()
	if want := f.clock().Add(25 * time.Hour); !next.Equal(want) {
		t.Fatalf("next %s, want %s", next, want)
	}
	f.advance(25 * time.Hour)
	b.Tick()
	b.Tick()
	f.advance(time.Hour)
	b.Tick()
	if n := outcomes(); n["late"] != 1 || n["failed"] != 1 {
		t.Fatalf("events %v", n)
	}
	// A restart keeps it: no second alert for the same period.
	b = newBook(t, st, f, []jobs.Expect{{Name: "backup", Every: 24 * time.Hour, Grace: time.Hour}})
	b.Tick()
	if n := outcomes(); n["late"] != 1 {
		t.Fatalf("after a restart: %v", n)
	}
	json.Unmarshal(b.Serve(ctx, wire.Request{Action: jobs.ActionList}, owner).Result, &l)
	if l.Jobs[1].State != jobs.StateLate {
		t.Fatalf("state %+v", l.Jobs[1])
	}
	b.Serve(ctx, req(jobs.ActionEnd, jobs.EndReport{Job: "backup", ExitCode: &zero}), owner)
	json.Unmarshal(b.Serve(ctx, wire.Request{Action: jobs.ActionList}, owner).Result, &l)
	if l.Jobs[1].State != jobs.StateOK {
		t.Fatalf("after a report: %+v", l.Jobs[1])
	}
	f.advance(24 * time.Hour)
	b.Tick()
	if n := outcomes(); n["late"] != 1 || n["ok"] != 1 {
		t.Fatalf("events %v", n)
	}

	// Runs are bounded per job.
	for range jobs.RunsPerJob + 10 {
		b.Serve(ctx, req(jobs.ActionEnd, jobs.EndReport{Job: "many", ExitCode: &zero}), owner)
	}
	json.Unmarshal(b.Serve(ctx, req(jobs.ActionShow, "many"), owner).Result, &d)
	if len(d.Runs) != jobs.RunsPerJob || d.Runs[0].ID != 11 {
		t.Fatalf("%d runs kept, first %d", len(d.Runs), d.Runs[0].ID)
	}
	// And so are a user's jobs.
	for i := range jobs.MaxJobsPerUID + 1 {
		rep = b.Serve(ctx, req(jobs.ActionEnd, jobs.EndReport{Job: "j" + string(rune('a'+i%26)) + string(rune('a'+i/26)), ExitCode: &zero}), Caller{UID: 2000})
	}
	if rep.OK {
		t.Fatal("a user made more jobs than the bound")
	}
}

// TestWatcherRaisesLateOnItsTimer: the watcher, on the real clock, raises
// a late alert at the deadline, and a report moves the deadline.
func TestWatcherRaisesLateOnItsTimer(t *testing.T) {
	st, err := history.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var mu sync.Mutex
	var late []time.Time
	b := New(Env{Store: st, Expect: []jobs.Expect{{Name: "tick", Every: 200 * time.Millisecond, Grace: 100 * time.Millisecond}},
		Put: func(r history.Record) error { return st.Write(nil, []history.Record{r}, false) },
		Record: func(e history.Event) {
			if e.Outcome == jobs.OutcomeLate {
				mu.Lock()
				late = append(late, time.Now())
				mu.Unlock()
			}
		}})
	life, end := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer end()
	begin := time.Now()
	b.Watch(func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }, life)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(late) }
	deadline := time.Now().Add(10 * time.Second)
	for count() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no late alert")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	first := late[0].Sub(begin)
	mu.Unlock()
	if first < 300*time.Millisecond {
		t.Fatalf("late after %s, before its deadline", first)
	}
	zero := 0
	b.Serve(context.Background(), req(jobs.ActionEnd, jobs.EndReport{Job: "tick", ExitCode: &zero}), Caller{Owner: true})
	n := count()
	var l jobs.List
	json.Unmarshal(b.Serve(context.Background(), wire.Request{Action: jobs.ActionList}, Caller{Owner: true}).Result, &l)
	if l.Jobs[0].State != jobs.StateOK {
		t.Fatalf("after a report: %+v", l.Jobs[0])
	}
	// The next alert comes no sooner than a period and its grace later.
	reported := time.Now()
	for count() == n {
		if time.Now().After(deadline) {
			t.Fatal("no second late alert")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	again := late[n].Sub(reported)
	mu.Unlock()
	if again < 250*time.Millisecond {
		t.Fatalf("late again %s after a report", again)
	}
}
