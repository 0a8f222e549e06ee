package jobbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/caretaker"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/jobs"
)

// Record kinds: a job's summary under its key, and its runs under
// RunKind(key), numbered.
const (
	SummaryKind = "job"
	runKindBase = "job-run:"
)

// RunKind is the record kind of one job's runs: one kind per job, so that
// its runs are one range of the store.
func RunKind(key string) string { return runKindBase + key }

func runKey(id int) string { return fmt.Sprintf("%012d", id) }

// Env is what a Book needs from the daemon.
type Env struct {
	Store *history.Store
	// Put stores a record through the daemon's only history writer and
	// returns once it is durable.
	Put func(history.Record) error
	// Record records an event (through the same writer).
	Record func(history.Event)
	// Expect are the jobs' expectations; when nil, those of the
	// configuration at ConfigPath (its jobs key).
	Expect     []jobs.Expect
	ConfigPath string
	Logf       func(string, ...any)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Root and Caretaker check the capabilities presented to report a
	// job (actors/caretaker).
	Root      *actor.RootContext
	Caretaker *actor.PID
}

// Book serves and keeps the tracked jobs. Its methods may be called from
// any goroutine.
type Book struct {
	env    Env
	mu     sync.Mutex
	sums   map[string]*jobs.Summary
	expect map[string]jobs.Expect
	kick   chan struct{}
}

// New reads the jobs' summaries from the store.
func New(env Env) *Book {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Logf == nil {
		env.Logf = func(string, ...any) {}
	}
	if env.Expect == nil && env.ConfigPath != "" {
		var err error
		if env.Expect, err = config.LoadJobs(env.ConfigPath); err != nil {
			env.Logf("jobs: %v", err)
		}
	}
	b := &Book{env: env, sums: map[string]*jobs.Summary{}, expect: map[string]jobs.Expect{}, kick: make(chan struct{}, 1)}
	for _, e := range env.Expect {
		b.expect[e.Name] = e
	}
	recs, err := env.Store.RecordsByKey(SummaryKind)
	if err != nil {
		env.Logf("jobs: %v", err)
	}
	for key, raw := range recs {
		var s jobs.Summary
		if json.Unmarshal(raw, &s) == nil && s.Key == key {
			b.sums[key] = &s
		}
	}
	return b
}

// IsAction says whether a request naming no service is one of tracked
// jobs' (services/jobs.IsAction).
func IsAction(action string) bool { return jobs.IsAction(action) }

// Caller is who sends a request.
type Caller struct {
	// Owner holds the daemon's authority (its uid, root).
	Owner bool
	UID   uint32
	Who   string
	// Holder is the caller as a capability holder.
	Holder capability.Holder
	// Cap is the capability that came with the request (a network
	// caller always presents one): the caller then holds what it says
	// only.
	Cap *capability.Swiss
}

// authorize asks the caretaker whether the capability c presented
// holds the report right on job name.
func (b *Book) authorize(ctx context.Context, c Caller, name string) error {
	if b.env.Root == nil {
		return errors.New("no caretaker")
	}
	ch := make(chan error, 1)
	b.env.Root.Send(b.env.Caretaker, &caretaker.Authorize{Holder: c.Holder, Who: c.Who, Cap: c.Cap,
		Target: capability.JobTarget(name), Action: capability.ReportAction, Reply: ch})
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// key is the job key a caller reports name under (services/jobs.Key):
// the owner's namespace for the owner and for holders of a report
// capability on name, the uid's own namespace for another local user.
func (b *Book) key(ctx context.Context, c Caller, name string) (string, *wire.Error) {
	if err := jobs.CheckName(name); err != nil {
		return "", wire.Errorf(wire.BadRequest, "%v", err)
	}
	if c.Owner {
		return name, nil
	}
	if c.Cap != nil {
		if b.authorize(ctx, c, name) == nil {
			return name, nil
		}
		return "", wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s' on job '%s'", jobs.RightReport, name)
	}
	return jobs.Key(name, c.UID, false), nil
}

// visible is what part of the jobs a caller may list: all for the
// owner, its own namespace for another local user, none through a
// capability (it may report, not read).
func (c Caller) visible() (prefix string, ok bool) {
	switch {
	case c.Owner:
		return "", true
	case c.Cap != nil:
		return "", false
	}
	return jobs.Namespace(c.UID), true
}

// Serve answers one request of tracked jobs.
func (b *Book) Serve(ctx context.Context, req wire.Request, c Caller) wire.Reply {
	bad := func(format string, args ...any) wire.Reply {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, format, args...))
	}
	switch req.Action {
	case jobs.ActionStart, jobs.ActionEnd:
		if len(req.Args) != 1 || len(req.Args[0]) > 64<<10 {
			return bad("%s: malformed report", req.Action)
		}
		if req.Action == jobs.ActionStart {
			var r jobs.StartReport
			if json.Unmarshal([]byte(req.Args[0]), &r) != nil {
				return bad("%s: malformed report", req.Action)
			}
			key, werr := b.key(ctx, c, r.Job)
			if werr != nil {
				return wire.ErrReply(req.ID, werr)
			}
			res, err := b.start(key, r, c.Who)
			if err != nil {
				return wire.ErrReply(req.ID, err)
			}
			return wire.OKReply(req.ID, res)
		}
		var r jobs.EndReport
		if json.Unmarshal([]byte(req.Args[0]), &r) != nil {
			return bad("%s: malformed report", req.Action)
		}
		key, werr := b.key(ctx, c, r.Job)
		if werr != nil {
			return wire.ErrReply(req.ID, werr)
		}
		res, err := b.end(key, r, c.Who)
		if err != nil {
			return wire.ErrReply(req.ID, err)
		}
		return wire.OKReply(req.ID, res)
	case jobs.ActionList:
		prefix, ok := c.visible()
		if !ok {
			return wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: a job capability reports runs; it lists nothing"))
		}
		return wire.OKReply(req.ID, b.list(prefix))
	case jobs.ActionShow:
		prefix, ok := c.visible()
		if !ok {
			return wire.ErrReply(req.ID, wire.Errorf(wire.PermissionDenied, "permission denied: a job capability reports runs; it shows nothing"))
		}
		if len(req.Args) != 1 {
			return bad("job-show: name one job")
		}
		d, werr := b.show(prefix, req.Args[0])
		if werr != nil {
			return wire.ErrReply(req.ID, werr)
		}
		return wire.OKReply(req.ID, d)
	}
	return bad("unknown job request %q", req.Action)
}

// summary returns key's summary, a new one if the bounds allow it.
func (b *Book) summary(key string, now time.Time) (*jobs.Summary, *wire.Error) {
	if s := b.sums[key]; s != nil {
		return s, nil
	}
	if len(b.sums) >= jobs.MaxJobs {
		return nil, wire.Errorf(wire.BadRequest, "too many jobs (%d): the daemon keeps no more", jobs.MaxJobs)
	}
	if ns, _, ok := strings.Cut(key, "/"); ok {
		n := 0
		for k := range b.sums {
			if strings.HasPrefix(k, ns+"/") {
				n++
			}
		}
		if n >= jobs.MaxJobsPerUID {
			return nil, wire.Errorf(wire.BadRequest, "too many jobs of uid %s (%d): the daemon keeps no more", ns, jobs.MaxJobsPerUID)
		}
	}
	s := &jobs.Summary{Key: key, Ref: now}
	b.sums[key] = s
	return s, nil
}

func (b *Book) put(kind, key string, v any) error {
	var raw []byte
	if v != nil {
		raw, _ = json.Marshal(v)
	}
	return b.env.Put(history.Record{Kind: kind, Key: key, Value: raw})
}

func (b *Book) storeErr(err error) *wire.Error {
	return wire.Errorf(wire.Timeout, "the job could not be recorded: %v", err)
}

func (b *Book) readRun(key string, id int) (jobs.Run, bool) {
	raw, err := b.env.Store.Record(RunKind(key), runKey(id))
	var r jobs.Run
	if err != nil || raw == nil || json.Unmarshal(raw, &r) != nil {
		return r, false
	}
	return r, true
}

// addRun stores run as the next of s, dropping the oldest beyond
// RunsPerJob.
func (b *Book) addRun(s *jobs.Summary, run *jobs.Run) error {
	s.LastID++
	run.ID = s.LastID
	if s.FirstID == 0 {
		s.FirstID = run.ID
	}
	if err := b.put(RunKind(s.Key), runKey(run.ID), run); err != nil {
		return err
	}
	for s.LastID-s.FirstID+1 > jobs.RunsPerJob {
		if err := b.put(RunKind(s.Key), runKey(s.FirstID), nil); err != nil {
			return err
		}
		s.FirstID++
	}
	return nil
}

func (b *Book) start(key string, r jobs.StartReport, who string) (jobs.Started, *wire.Error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.env.Now()
	s, werr := b.summary(key, now)
	if werr != nil {
		return jobs.Started{}, werr
	}
	if s.Running != 0 {
		// Its end never came (herd was killed): it is lost.
		if old, ok := b.readRun(key, s.Running); ok && old.Result == jobs.ResultRunning {
			old.Result = jobs.ResultLost
			if err := b.put(RunKind(key), runKey(old.ID), old); err != nil {
				return jobs.Started{}, b.storeErr(err)
			}
		}
	}
	run := jobs.Run{Job: key, Started: now, Result: jobs.ResultRunning, Command: jobs.BoundArgv(r.Command), Output: []string{}, Reporter: who}
	if err := b.addRun(s, &run); err != nil {
		return jobs.Started{}, b.storeErr(err)
	}
	s.Running = run.ID
	s.Heard(now)
	if err := b.put(SummaryKind, key, s); err != nil {
		return jobs.Started{}, b.storeErr(err)
	}
	b.wake()
	return jobs.Started{Job: key, Run: run.ID}, nil
}

func (b *Book) end(key string, r jobs.EndReport, who string) (jobs.Run, *wire.Error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.env.Now()
	s, werr := b.summary(key, now)
	if werr != nil {
		return jobs.Run{}, werr
	}
	dur := max(r.Duration, 0)
	run, found := jobs.Run{}, false
	if r.Run > 0 && r.Run >= s.FirstID && r.Run <= s.LastID {
		run, found = b.readRun(key, r.Run)
		found = found && run.Result == jobs.ResultRunning
	}
	if !found {
		// Its start was not reported (or is gone): the run is new.
		run = jobs.Run{Job: key, Started: now.Add(-dur), Command: jobs.BoundArgv(r.Command), Reporter: who}
	}
	run.Ended, run.Duration = now, dur
	run.ExitCode, run.Signal, run.TimedOut = r.ExitCode, jobs.CleanLine(r.Signal), r.TimedOut
	run.Error = jobs.CleanLine(r.Error)
	run.Output = jobs.BoundLines(r.Output)
	run.Result = jobs.ResultOK
	if r.Failed() {
		run.Result = jobs.ResultFailed
	}
	if found {
		if err := b.put(RunKind(key), runKey(run.ID), run); err != nil {
			return jobs.Run{}, b.storeErr(err)
		}
	} else if err := b.addRun(s, &run); err != nil {
		return jobs.Run{}, b.storeErr(err)
	}
	if s.Running == run.ID || !found {
		s.Running = 0
	}
	s.Last, s.Result, s.Duration = now, run.Result, dur
	s.Heard(now)
	if err := b.put(SummaryKind, key, s); err != nil {
		return jobs.Run{}, b.storeErr(err)
	}
	b.env.Record(history.Event{Kind: history.KindJob, Job: key, Outcome: run.Result, ExitCode: run.ExitCode, Signal: run.Signal,
		Runtime: dur, Who: who, Message: describe(run)})
	b.wake()
	return run, nil
}

// describe says how a run ended, in one line.
func describe(r jobs.Run) string {
	how := "succeeded"
	switch {
	case r.Error != "":
		how = "could not run: " + r.Error
	case r.TimedOut:
		how = "timed out and was killed"
		if r.Signal != "" {
			how += " (" + r.Signal + ")"
		}
	case r.Signal != "":
		how = "was terminated by signal " + r.Signal
	case r.ExitCode != nil && *r.ExitCode != 0:
		how = fmt.Sprintf("exited with code %d", *r.ExitCode)
	}
	return fmt.Sprintf("job %s %s after %s", r.Job, how, r.Duration.Round(time.Millisecond))
}

// job describes s at now.
func (b *Book) job(name string, s *jobs.Summary, now time.Time) jobs.Job {
	j := jobs.Job{Name: name, State: jobs.StatePending, Runs: 0}
	var e *jobs.Expect
	if x, ok := b.expect[s.Key]; ok {
		e = &x
		j.Every, j.Grace = x.Every, x.Grace
		_, next := x.Check(s.Ref, s.Alerted, now)
		if x.Missed(s.Ref, now) == 0 {
			next = x.Deadline(s.Ref, 1)
		}
		j.NextExpected = next
	}
	j.State = s.State(e, now)
	j.Last = s.Last
	j.Result, j.Duration = s.Result, s.Duration
	if s.LastID > 0 {
		j.Runs = s.LastID - s.FirstID + 1
	}
	return j
}

func (b *Book) list(prefix string) jobs.List {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.env.Now()
	out := jobs.List{Jobs: []jobs.Job{}}
	keys := slices.Sorted(maps.Keys(b.sums))
	for _, name := range slices.Sorted(maps.Keys(b.expect)) {
		if _, ok := b.sums[name]; !ok && prefix == "" {
			out.Jobs = append(out.Jobs, b.job(name, &jobs.Summary{Key: name, Ref: now}, now))
		}
	}
	for _, k := range keys {
		if prefix != "" && !strings.HasPrefix(k, prefix) {
			continue
		}
		out.Jobs = append(out.Jobs, b.job(strings.TrimPrefix(k, prefix), b.sums[k], now))
	}
	slices.SortFunc(out.Jobs, func(x, y jobs.Job) int { return strings.Compare(x.Name, y.Name) })
	return out
}

func (b *Book) show(prefix, name string) (jobs.Detail, *wire.Error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := prefix + name
	s := b.sums[key]
	if s == nil {
		return jobs.Detail{}, wire.Errorf(wire.BadRequest, "no job '%s' (herd jobs lists them)", name)
	}
	d := jobs.Detail{Job: b.job(name, s, b.env.Now()), Runs: []jobs.Run{}}
	recs, err := b.env.Store.Records(RunKind(key))
	if err != nil {
		return d, b.storeErr(err)
	}
	for _, raw := range recs {
		var r jobs.Run
		if json.Unmarshal(raw, &r) == nil {
			r.Job = name
			if r.Output == nil {
				r.Output = []string{}
			}
			d.Runs = append(d.Runs, r)
		}
	}
	return d, nil
}

func (b *Book) wake() {
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// Tick raises the late alerts due at now and returns when the next one
// may be due (zero: none). The watcher calls it; tests may too.
func (b *Book) Tick() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.env.Now()
	var next time.Time
	for _, name := range slices.Sorted(maps.Keys(b.expect)) {
		e := b.expect[name]
		_, known := b.sums[name]
		s, werr := b.summary(name, now)
		if werr != nil {
			continue
		}
		late, nx := e.Check(s.Ref, s.Alerted, now)
		if !known && late == 0 {
			// Expected from now on: kept, so that a restart does not
			// move the first deadline.
			if err := b.put(SummaryKind, name, s); err != nil {
				b.env.Logf("jobs: %v", err)
			}
		}
		if late > 0 {
			s.Alerted = late
			if err := b.put(SummaryKind, name, s); err != nil {
				b.env.Logf("jobs: %v", err)
			}
			b.env.Record(history.Event{Kind: history.KindJob, Job: name, Outcome: jobs.OutcomeLate,
				Message: fmt.Sprintf("job %s is late: no report since %s (expected every %s, grace %s)", name, s.Ref.Format("2006-01-02 15:04:05"), e.Every, e.Grace)})
		}
		if next.IsZero() || nx.Before(next) {
			next = nx
		}
	}
	return next
}

// SetExpect replaces the jobs' expectations (a reload changed the jobs
// key). The summaries stay: a job newly expected is expected from now
// on, or from its last report. Watch again to follow the new ones.
func (b *Book) SetExpect(es []jobs.Expect) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expect = map[string]jobs.Expect{}
	for _, e := range es {
		b.expect[e.Name] = e
	}
}

// Watch runs the watcher of expectations until life ends: one timer,
// set for the next deadline, and woken by every report.
func (b *Book) Watch(goGo func(func()), life context.Context) {
	b.mu.Lock()
	none := len(b.expect) == 0
	b.mu.Unlock()
	if none {
		return
	}
	goGo(func() {
		t := time.NewTimer(time.Hour)
		defer t.Stop()
		for {
			next := b.Tick()
			wait := time.Duration(1<<63 - 1)
			if !next.IsZero() {
				wait = max(time.Until(next), time.Millisecond)
			}
			t.Reset(wait)
			select {
			case <-t.C:
			case <-b.kick:
				if !t.Stop() {
					select {
					case <-t.C:
					default:
					}
				}
			case <-life.Done():
				return
			}
		}
	})
}
