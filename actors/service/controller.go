package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/activation"
	"github.com/shepherd-go/shepherd/internal/leftover"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
	"golang.org/x/sys/unix"
)

// Request is a client's request for one service, answered on Reply.
// Who names the client for history ("uid 1000").
type Request struct {
	Req   wire.Request
	Who   string
	Reply chan<- wire.Reply
}

// SummaryUpdate refreshes the registry's copy of one service's summary, so
// that `herd status` is answered without asking every controller, and adds
// the service's state changes to the daemon's transition log.
type SummaryUpdate struct {
	Summary     wire.Summary
	Transitions []wire.LogEntry
}

// PeerRequest asks a controller to start or stop on behalf of another
// controller (a requirement being started, a dependent being stopped).
type PeerRequest struct {
	Op   lifecycle.PeerOp
	From *actor.PID
	// Local: the daemon itself is stopping; a proxy leaves the remote
	// service alone.
	Local bool
}

// PeerReply answers a PeerRequest.
type PeerReply struct {
	Name   string
	Op     lifecycle.PeerOp
	Result lifecycle.Result
}

// SetDependents tells a controller which services require it.
type SetDependents struct{ Names []string }

// SetConflicts tells a controller which services it conflicts with, both
// ways (order.go).
type SetConflicts struct{ Names []string }

// AwaitStart asks a controller for an OK reply on Reply once its start in
// progress, if any, has ended: a group whose instances a service is
// after asks each of them.
type AwaitStart struct{ Reply chan<- wire.Reply }

// ReplaceSpec gives a controller a reloaded definition: applied at once
// when the service does not run, at its next start otherwise.
type ReplaceSpec struct{ Spec *services.Spec }

// timerFired wraps a machine timer's expiry.
type timerFired struct{ lifecycle.TimerFired }

// actionOutput carries a custom action's collected output.
type actionOutput struct {
	PID    int
	Output string
}

// Probe runs F inside the controller's Receive, with its state. Tests use
// it to inject failures, herd kill to signal MainProcess; F must not block.
type Probe struct{ F func(*ControllerState) }

// MainProcess is the main process's handle (nil: none).
func (st *ControllerState) MainProcess() *proc.Handle { return st.procs[st.m.PID()] }

// replyTarget is who waits for a machine Reply.
type replyTarget struct {
	client chan<- wire.Reply
	reqID  uint64
	action string
	who    string
	peer   *actor.PID
	op     lifecycle.PeerOp
	// await: the client asked AwaitStart, not a client's request.
	await bool
}

// historyAck says the events of a step are durable: the replies held
// back until then may go.
type historyAck struct {
	token uint64
	seq   uint64 // of the step's last event, set by the history writer
}

func (a *historyAck) SetSeq(seq uint64) { a.seq = seq }

// heldReplies are the replies of one step, sent once its events are synced
// (design §9: an acknowledged state change is durable before the reply).
type heldReplies struct {
	token   uint64
	ready   bool
	replies []lifecycle.Reply
}

type pendingAction struct {
	req Request
	// handle and pipe are the action's process and its output, which
	// a goroutine reads: a controller that goes away kills the first
	// and closes the second, so that the goroutine ends even if a
	// process the action left behind holds the output open.
	handle   *proc.Handle
	pipe     *os.File
	exited   bool
	status   lifecycle.ExitStatus
	output   string
	gotOuput bool
}

// ControllerState outlives any one incarnation of the controller actor, so
// that a panic in Receive followed by a restart keeps the service's state,
// its running process and everyone waiting on it.
type ControllerState struct {
	spec    *services.Spec
	m       *lifecycle.Machine
	env     Env
	logger  *actor.PID
	waiters map[lifecycle.Waiter]replyTarget
	next    lifecycle.Waiter
	timers  [lifecycle.NumTimers]*time.Timer
	tag     uint64 // tag of the spawn in flight for the main process
	// procs are the handles of the main process and of a PID file's
	// launcher, by PID: every signal goes through them, never by number
	// (a PID reaped may already be another process's). A handle is
	// closed once the process's exit was stepped.
	procs map[int]*proc.Handle
	// actionTag numbers custom-action spawns.
	actionTag uint64
	actions   map[int]*pendingAction
	// actionSpawns maps spawn tags of custom actions to their request.
	actionSpawns map[uint64]Request
	// replacement is a newer definition to apply at the next start.
	replacement *services.Spec
	// held replies wait, in order, for their step's events to be synced.
	held      []heldReplies
	nextToken uint64
	// lastExit carries the resource usage of the exit being stepped.
	lastExit *monitor.Exited
	// pidWatch numbers the PID file watches.
	pidWatch uint64
	// launcherStart is bootTicks before the main process's last fork: a
	// process named by the PID file must have started since.
	launcherStart uint64
	// pidRefusal is why the last look at the PID file refused it: a
	// refusal stands once two looks in a row agree, since the file may
	// have been caught half written.
	pidRefusal string
	// hooks in flight by PID, and hook spawns by tag.
	hooks      map[int]*hookRun
	hookSpawns map[uint64]string
	hookTag    uint64
	urlHooks   int // URL hooks in flight
	// timerDue is when each armed timer fires, for a re-exec to carry.
	timerDue [lifecycle.NumTimers]time.Time
	// Frozen: a re-exec is under way; messages wait in stash (see Freeze).
	frozen bool
	stash  []any
	// restoreEffects are performed when the controller starts: the timer
	// a restored machine waits on.
	restoreEffects []lifecycle.Effect
	// respawns are the times of recent respawns, read from history at the
	// first status (respawnsLoaded) and kept since.
	respawns       []time.Time
	respawnsLoaded bool
	// seq is the history sequence number of the service's last durable
	// change; answers carry it so that a proxy can order them against
	// the events it follows.
	seq uint64
	// record names the main process in the history store (leftover.go);
	// adoptedAt is when it was adopted from a previous daemon (zero once
	// a process of its own runs), adoption what the monitor is to watch.
	record    leftover.Tracker
	adoptedAt time.Time
	adoption  *proc.Adoption
	// rd is the mechanics of readiness (ready.go); nil for a service
	// without `ready:`.
	rd *readyWatch
	// spawnedAt is when the last spawn of the main process was asked
	// for: a failed start shows the lines its attempt printed.
	spawnedAt time.Time
	// sock holds the sockets of socket activation (activation.go).
	sock sockState
}

type controller struct{ st *ControllerState }

// NewController is the state of a new service's controller, whose output
// goes to logger.
func NewController(env Env, s *services.Spec, logger *actor.PID) *ControllerState {
	return newControllerState(env, s, lifecycle.NewMachine(env.policyOf(s), time.Now()), logger)
}

func newControllerState(env Env, s *services.Spec, m *lifecycle.Machine, logger *actor.PID) *ControllerState {
	return &ControllerState{
		spec: s, m: m, env: env, logger: logger,
		actions: map[int]*pendingAction{}, procs: map[int]*proc.Handle{},
		actionSpawns: map[uint64]Request{}, hooks: map[int]*hookRun{}, hookSpawns: map[uint64]string{},
	}
}

// Props makes the controller actor that carries on from st.
func (st *ControllerState) Props() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &controller{st: st} })
}

func (c *controller) Receive(ctx actor.Context) {
	st := c.st
	if st.frozen && c.stashed(ctx) {
		return
	}
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		if a := st.adoption; a != nil { // AdoptedController's process
			ctx.Send(st.env.Monitor, &monitor.Adopt{Adoption: *a, Owner: ctx.Self()})
			st.adoption = nil
		}
		for _, e := range st.restoreEffects {
			if t, ok := e.(lifecycle.ArmTimer); ok {
				c.arm(ctx, t)
			} else {
				// Watching or accepting again, on the sockets handed over.
				c.activationEffect(ctx, e)
			}
		}
		st.restoreEffects = nil
		c.restoreReady(ctx)
	case *Freeze:
		c.freeze(ctx, msg)
	case *Request:
		c.onRequest(ctx, msg)
	case *PeerRequest:
		w := st.wait(replyTarget{peer: msg.From, op: msg.Op})
		switch msg.Op {
		case lifecycle.PeerStart:
			c.step(ctx, lifecycle.Start{Waiter: w, At: time.Now()})
		case lifecycle.PeerAwait:
			c.step(ctx, lifecycle.AwaitStart{Waiter: w, At: time.Now()})
		default:
			c.step(ctx, lifecycle.Stop{Waiter: w, At: time.Now()})
		}
	case *AwaitStart:
		c.step(ctx, lifecycle.AwaitStart{Waiter: st.wait(replyTarget{client: msg.Reply, await: true}), At: time.Now()})
	case *SetConflicts:
		st.m.Step(lifecycle.SetConflicts{Names: msg.Names, At: time.Now()})
	case *PeerReply:
		c.step(ctx, lifecycle.PeerDone{Name: msg.Name, Op: msg.Op, Result: msg.Result, At: time.Now()})
	case *SetDependents:
		st.m.Step(lifecycle.SetDependents{Names: msg.Names})
	case *monitor.Spawned:
		c.onSpawned(ctx, msg)
	case *monitor.Exited:
		if c.onConnExited(ctx, msg) {
			return
		}
		if run, ok := st.hooks[msg.PID]; ok {
			c.onHookExited(ctx, run, msg)
			return
		}
		if pa, ok := st.actions[msg.PID]; ok {
			pa.exited, pa.status = true, msg.Status
			c.finishAction(ctx, msg.PID)
			return
		}
		if c.probeExited(ctx, msg) {
			return
		}
		st.lastExit = msg
		c.step(ctx, lifecycle.Exited{PID: msg.PID, Status: msg.Status, At: msg.At})
		st.lastExit = nil
		// The step killed what the process left in its group; nothing
		// is signalled through its handle any more.
		st.forget(msg.PID)
	case *historyAck:
		st.seq = max(st.seq, msg.seq)
		c.release(ctx, msg.token)
	case *pidFileTick:
		if msg.watch == st.pidWatch {
			c.checkPIDFile(ctx)
		}
	case *ReplaceSpec:
		st.replacement = msg.Spec
		if st.m.Replace(st.env.policyOf(msg.Spec)) {
			st.applyReplacement()
		}
	case *hookTimeout:
		c.onHookTimeout(msg)
	case *hookDone:
		st.urlHooks--
		c.recordHook(ctx, msg.Name, msg.Result)
	case *actionOutput:
		if pa, ok := st.actions[msg.PID]; ok {
			pa.output, pa.gotOuput = msg.Output, true
			c.finishAction(ctx, msg.PID)
		}
	case *timerFired:
		c.step(ctx, msg.TimerFired)
	case *notifyWake, *fdReady, *probeTick, *probeDone, *probeOutput, *probeTimeout:
		c.onReadyMessage(ctx, msg)
	case *cgroupEmptied:
		c.onCgroupEmptied(ctx, msg)
	case *Probe:
		msg.F(st)
	case *actor.Restarting:
		c.abandonWaiters(ctx)
	case *actor.Stopping:
		// The controller goes away (unload, shutdown): its timers must
		// not fire into the void.
		for _, t := range st.timers {
			if t != nil {
				t.Stop()
			}
		}
		// Hooks and actions do not outlive their service's controller,
		// nor do the goroutines that read their output.
		for _, r := range st.hooks {
			r.timer.Stop()
			r.handle.SignalGroup(unix.SIGKILL)
			r.handle.Close()
			r.output.Close()
		}
		for _, pa := range st.actions {
			pa.handle.SignalGroup(unix.SIGKILL)
			pa.handle.Close()
			pa.pipe.Close()
		}
		for pid := range st.procs {
			st.forget(pid)
		}
		st.closeReady()
		st.removeCgroup()
		c.closeActivation()
	default:
		c.activationMessage(ctx, msg)
	}
}

// wait registers t to hear the answer to a request. The map exists only
// while someone waits: a thousand idle controllers hold no map.
func (st *ControllerState) wait(t replyTarget) lifecycle.Waiter {
	st.next++
	if st.waiters == nil {
		st.waiters = map[lifecycle.Waiter]replyTarget{}
	}
	st.waiters[st.next] = t
	return st.next
}

func (st *ControllerState) unwait(w lifecycle.Waiter) {
	delete(st.waiters, w)
	if len(st.waiters) == 0 {
		st.waiters = nil
	}
}

func (c *controller) onRequest(ctx actor.Context, r *Request) {
	st := c.st
	now := time.Now()
	target := replyTarget{client: r.Reply, reqID: r.Req.ID, action: r.Req.Action, who: r.Who}
	switch r.Req.Action {
	case "start":
		c.step(ctx, lifecycle.Start{Waiter: st.wait(target), At: now})
	case "stop":
		c.step(ctx, lifecycle.Stop{Waiter: st.wait(target), At: now})
	case "restart":
		c.step(ctx, lifecycle.Restart{Waiter: st.wait(target), At: now})
	case "enable":
		c.step(ctx, lifecycle.Enable{Waiter: st.wait(target), At: now})
	case "disable":
		c.step(ctx, lifecycle.Disable{Waiter: st.wait(target), At: now, Who: r.Who})
	case "status":
		n := 10
		if len(r.Req.Args) == 2 && r.Req.Args[0] == "-n" {
			v, err := strconv.Atoi(r.Req.Args[1])
			if err != nil || v < 0 {
				r.Reply <- wire.ErrReply(r.Req.ID, wire.Errorf(wire.BadRequest, "-n: expected a non-negative number, got %q", r.Req.Args[1]))
				return
			}
			n = v
		}
		ctx.Send(st.logger, &logger.FillRecent{Status: st.status(), N: n, ReqID: r.Req.ID, Seq: st.seq, Reply: r.Reply})
	case "doc":
		doc := wire.Doc{Service: st.spec.Name, Documentation: st.spec.Documentation}
		for _, a := range st.spec.Actions {
			ad := wire.ActionDoc{Name: a.Name, Documentation: a.Documentation, Command: a.Command}
			for _, arg := range a.Args {
				ad.Args = append(ad.Args, wire.ActionArgDoc{Name: arg.Name, Pattern: arg.Pattern, Documentation: arg.Documentation})
			}
			doc.Actions = append(doc.Actions, ad)
		}
		r.Reply <- wire.OKReply(r.Req.ID, doc)
	default:
		c.runAction(ctx, r)
	}
}

// status describes the service for `herd status NAME`, less recent lines.
func (st *ControllerState) status() wire.Status {
	s := st.spec
	snap := st.m.Snapshot()
	out := wire.Status{
		Name: s.Name, Provides: s.Provides, Requires: s.Requires, Documentation: s.Documentation,
		State: snap.State.String(), Since: snap.Since, Enabled: snap.Enabled,
		OneShot: s.OneShot, Done: snap.Done, Milestone: s.Milestone(),
		Failing: snap.Failing, FailedAt: snap.FailedAt, FailReason: snap.FailReason, StopIssue: snap.StopIssue,
		Disabled: disabledInfo(snap),
		PID:      snap.PID, Command: s.Command, Respawn: s.Respawn,
		LastRespawn: snap.LastRespawn, Respawns: snap.RespawnCount,
		StatusText: snap.StatusText, Reloading: snap.Reloading, SelfStopping: snap.SelfStopping,
		Ready: s.Ready.Kind(),
	}
	if rd := st.rd; rd != nil && rd.notify != nil {
		ns := rd.notify.Stats()
		out.NotifyRefused, out.NotifyMalformed = ns.Refused, ns.Malformed
	}
	if out.Provides == nil {
		out.Provides = []string{}
	}
	if out.Requires == nil {
		out.Requires = []string{}
	}
	for _, a := range s.Actions {
		out.Actions = append(out.Actions, a.Name)
	}
	if e := snap.LastExit; e != nil {
		out.LastExit = &wire.ExitInfo{PID: e.PID, Code: e.Status.Code, At: e.At, Runtime: wire.Duration(e.Runtime), Unknown: e.Status.Unknown, Success: e.Success}
		if e.Status.Signal != 0 {
			out.LastExit.Signal = services.SignalName(e.Status.Signal)
		}
	}
	st.addRespawnHistory(&out, time.Now())
	out.Cgroup = st.cgroupStatus()
	out.ReplacementPending = st.replacement != nil
	out.Adopted = st.adoptedAt
	out.Activation = activation.Status(st.spec, snap.Activation, st.sock.socks)
	return out
}

// Flapping is this many respawns within flapWindow.
const (
	flapCount  = 3
	flapWindow = 10 * time.Minute
)

// addRespawnHistory counts recent respawns. They survive a daemon
// restart, unlike the machine's own counters: the first status reads them
// from history, later ones from the controller's own list.
func (st *ControllerState) addRespawnHistory(out *wire.Status, now time.Time) {
	if !st.respawnsLoaded {
		evs, err := st.env.History.Scan(history.Query{Service: st.spec.Name, Since: now.Add(-time.Hour)})
		if err != nil {
			st.env.Logf("history: %v", err)
			return
		}
		var times []time.Time
		for _, e := range evs {
			if e.Kind == history.KindRespawn {
				times = append(times, e.Time)
			}
		}
		// Respawns recorded since the controller started are in both.
		for _, t := range st.respawns {
			if !slices.ContainsFunc(times, t.Equal) {
				times = append(times, t)
			}
		}
		st.respawns, st.respawnsLoaded = times, true
	}
	st.respawns = slices.DeleteFunc(st.respawns, func(t time.Time) bool { return now.Sub(t) > time.Hour })
	recent := 0
	for _, t := range st.respawns {
		out.RespawnsLastHour++
		if t.After(now.Add(-flapWindow)) {
			recent++
		}
	}
	if recent >= flapCount {
		out.FlappingCount, out.FlappingMinutes = recent, int(flapWindow/time.Minute)
	}
}

// Summary is the service's line of herd status.
func (st *ControllerState) Summary() wire.Summary {
	snap := st.m.Snapshot()
	return wire.Summary{Name: st.spec.Name, State: snap.State.String(), OneShot: st.spec.OneShot, Done: snap.Done, Enabled: snap.Enabled}
}

// step feeds the machine one event and performs the effects it returns.
// The step's history events are recorded; its replies are held until they
// are durable.
func (c *controller) step(ctx actor.Context, ev lifecycle.Event) {
	st := c.st
	effects := st.m.Step(ev)
	var update SummaryUpdate
	var replies []lifecycle.Reply
	var evs []history.Event
	var intents []history.Record
	for _, e := range effects {
		switch e := e.(type) {
		case lifecycle.StartPeers:
			c.askPeers(ctx, lifecycle.PeerStart, e.Names)
		case lifecycle.StopPeers:
			c.askPeers(ctx, lifecycle.PeerStop, e.Names)
		case lifecycle.AwaitPeers:
			c.askPeers(ctx, lifecycle.PeerAwait, e.Names)
		case lifecycle.Spawn:
			c.spawn(ctx)
		case lifecycle.Signal:
			st.signal(e)
		case lifecycle.KillCgroup:
			c.killCgroup(ctx, e)
		case lifecycle.WatchPIDFile:
			st.pidWatch++
			st.pidRefusal = ""
			c.watchPIDFile(ctx)
		case lifecycle.Disown:
			st.env.Logf("service %s: process %d could not be stopped: it is still there %v after SIGKILL (in uninterruptible sleep, or held by a tracer); shepherd no longer waits for it",
				st.spec.Name, e.PID, st.m.Policy().KillWait)
			ctx.Send(st.env.Monitor, &monitor.Disown{PID: e.PID})
			st.forget(e.PID)
		case lifecycle.ArmTimer:
			c.arm(ctx, e)
		case lifecycle.WatchReady:
			c.watchReady(ctx)
		case lifecycle.UnwatchReady:
			c.unwatchReady()
		case lifecycle.Listen, lifecycle.CloseSockets, lifecycle.WatchConnection, lifecycle.Accept,
			lifecycle.ServeConn, lifecycle.RefuseConn, lifecycle.SignalConns, lifecycle.LogRefusals:
			c.activationEffect(ctx, e)
		case lifecycle.Record:
			evs = append(evs, st.historyEvent(e))
		case lifecycle.KeepIntent:
			intents = append(intents, st.intentRecord(e))
		case lifecycle.Reply:
			replies = append(replies, e)
		case lifecycle.Transition:
			st.env.Logf("service %s %s", st.spec.Name, e.Text)
			update.Transitions = append(update.Transitions, wire.LogEntry{Time: e.At, Service: st.spec.Name, Text: e.Text})
			if e.To == lifecycle.Starting && e.From != lifecycle.Running && st.replacement != nil {
				st.applyReplacement()
			}
		}
	}
	st.syncNotify()
	if len(update.Transitions) > 0 || isFlagEvent(ev) {
		update.Summary = st.Summary()
		ctx.Send(st.env.Registry, &update)
	}
	c.fireHooks(ctx, evs)
	recs := st.procRecords()
	// A change of intent is durable before it is answered, as a state
	// change is: "Disabled service X." holds across a crash of the daemon.
	durable := len(evs)+len(intents) > 0
	recs = append(recs, intents...)
	if !durable && len(recs) > 0 {
		ctx.Send(st.env.Historian, &historian.Record{Records: recs, Sync: true})
	}
	if !durable && len(st.held) == 0 {
		for _, r := range replies {
			c.reply(ctx, r)
		}
		return
	}
	st.nextToken++
	// With nothing to sync the replies are ready, but wait behind earlier
	// held ones to keep their order.
	st.held = append(st.held, heldReplies{token: st.nextToken, ready: !durable, replies: replies})
	if durable {
		ctx.Send(st.env.Historian, &historian.Record{Events: evs, Records: recs, Sync: true, AckTo: ctx.Self(), AckMsg: &historyAck{token: st.nextToken}})
	}
	c.release(ctx, 0)
}

// release marks token's replies ready and sends every ready reply at the
// head of the queue.
func (c *controller) release(ctx actor.Context, token uint64) {
	st := c.st
	for i := range st.held {
		if st.held[i].token == token {
			st.held[i].ready = true
		}
	}
	for len(st.held) > 0 && st.held[0].ready {
		h := st.held[0]
		st.held = st.held[1:]
		for _, r := range h.replies {
			c.reply(ctx, r)
		}
	}
}

// historyEvent is what history keeps of a Record of the machine: its
// fields, plus what the machine does not know, the command of a start and
// the resource usage of an exit.
func (st *ControllerState) historyEvent(r lifecycle.Record) history.Event {
	e := history.Event{
		Time: r.At, Service: st.spec.Name, Kind: r.Kind.String(), State: r.State, PID: r.PID,
		ExitCode: r.ExitCode, Signal: r.Signal, Runtime: r.Runtime, Message: r.Message,
	}
	switch r.Kind {
	case lifecycle.RecordStart:
		e.Command = st.spec.Command
	case lifecycle.RecordExit:
		if x := st.lastExit; x != nil {
			e.MaxRSS, e.CPU = x.MaxRSS, x.CPUTime
		}
	case lifecycle.RecordRespawn:
		st.respawns = append(st.respawns, r.At)
	}
	return e
}

func isFlagEvent(ev lifecycle.Event) bool {
	switch ev.(type) {
	case lifecycle.Enable, lifecycle.Disable:
		return true
	}
	return false
}

// applyReplacement switches to the reloaded definition; the machine
// switches its policy at the same moment (Machine.Replace).
func (st *ControllerState) applyReplacement() {
	st.spec = st.replacement
	st.replacement = nil
}

// signal performs a Signal effect: to the group the process leads (or
// the process alone, if it leads none), through its handle, so that it
// reaches nothing once the process was reaped and what it left in its
// group is gone (design §5, style P7).
func (st *ControllerState) signal(e lifecycle.Signal) {
	h := st.procs[e.PGID]
	if h == nil {
		st.env.Logf("service %s: no handle on process %d: %s not sent", st.spec.Name, e.PGID, services.SignalName(e.Sig))
		return
	}
	switch err := h.SignalGroup(e.Sig); {
	case err == nil, errors.Is(err, unix.ESRCH):
	case errors.Is(err, proc.ErrGroupUnsafe):
		st.env.Logf("service %s: what process %d left in its group is not sent %s: %v", st.spec.Name, e.PGID, services.SignalName(e.Sig), err)
	default:
		st.env.Logf("service %s: signal %s to group %d: %v", st.spec.Name, services.SignalName(e.Sig), e.PGID, err)
	}
}

// forget closes the handle of a process whose exit was handled (or that
// was given up on).
func (st *ControllerState) forget(pid int) {
	if h, ok := st.procs[pid]; ok {
		h.Close()
		delete(st.procs, pid)
	}
}

func (c *controller) askPeers(ctx actor.Context, op lifecycle.PeerOp, names []string) {
	reg := ctx.ActorSystem().ProcessRegistry
	for _, name := range names {
		pid := ControllerPID(c.st.env.Registry, name)
		if _, ok := reg.GetLocal(pid.Id); !ok {
			// The peer was unloaded: a requirement that does not exist
			// fails the start; a dependent that does not exist is down.
			r := lifecycle.Result{Outcome: lifecycle.OutNotRunning}
			if op == lifecycle.PeerStart {
				r = lifecycle.Result{Outcome: lifecycle.OutFailed, Reason: "service " + name + " is not loaded"}
			}
			ctx.Send(ctx.Self(), &PeerReply{Name: name, Op: op, Result: r})
			continue
		}
		ctx.Send(pid, &PeerRequest{Op: op, From: ctx.Self()})
	}
}

func (c *controller) reply(ctx actor.Context, e lifecycle.Reply) {
	st := c.st
	t, ok := st.waiters[e.Waiter]
	if !ok {
		return
	}
	st.unwait(e.Waiter)
	if t.peer != nil {
		ctx.Send(t.peer, &PeerReply{Name: st.spec.Name, Op: t.op, Result: e.Result})
		return
	}
	if t.await {
		t.client <- wire.OKReply(0, nil)
		return
	}
	rep := ClientReply(st.spec.Name, t.reqID, e.Result)
	rep.Seq = st.seq
	c.recordAction(ctx, t.who, t.action, rep)
	if rep.Error != nil && rep.Error.Kind == wire.StartFailed && rep.Error.Reason != "" && st.logger != nil {
		// A failed start shows the service's last lines: the logger
		// adds them once its output has ended.
		ctx.Send(st.logger, &logger.FillFailure{Reply: rep, N: logger.FailureLines, Since: st.spawnedAt, To: t.client})
		return
	}
	t.client <- rep
}

// recordAction adds a client's request and its result to history.
func (c *controller) recordAction(ctx actor.Context, who, action string, rep wire.Reply) {
	result := ""
	if rep.Error != nil {
		result = string(rep.Error.Kind)
	} else {
		var res wire.ActionResult
		json.Unmarshal(rep.Result, &res)
		result = string(res.Outcome)
		if res.ExitCode != 0 {
			result = fmt.Sprintf("exit %d", res.ExitCode)
		}
	}
	ctx.Send(c.st.env.Historian, &historian.Record{Events: []history.Event{{
		Service: c.st.spec.Name, Kind: history.KindAction, Who: who, Action: action, Result: result,
	}}})
}

// ClientReply turns a machine result into the protocol's reply.
func ClientReply(name string, id uint64, r lifecycle.Result) wire.Reply {
	if r.Outcome == lifecycle.OutFailed {
		switch {
		case r.Refused:
			return wire.ErrReply(id, &wire.Error{Kind: wire.StartFailed, Service: name, Disabled: true, Reason: r.Reason,
				Message: fmt.Sprintf("service %s is currently disabled", name)})
		case r.Dependency != "":
			e := &wire.Error{Kind: wire.DependencyFailed, Service: name, Dependency: r.Dependency, Reason: r.Reason,
				Message: fmt.Sprintf("service %s depends on %s, which could not be started: %s", name, r.Dependency, r.Reason)}
			for _, s := range r.Steps {
				e.Steps = append(e.Steps, wire.Step{Service: s.Service, Outcome: wire.Outcome(s.Outcome.String())})
			}
			return wire.ErrReply(id, e)
		default:
			return wire.ErrReply(id, &wire.Error{Kind: wire.StartFailed, Service: name, Reason: r.Reason,
				Message: fmt.Sprintf("failed to start service %s: %s", name, r.Reason)})
		}
	}
	res := wire.ActionResult{Service: name, Outcome: wire.Outcome(r.Outcome.String())}
	for _, s := range r.Steps {
		res.Steps = append(res.Steps, wire.Step{Service: s.Service, Outcome: wire.Outcome(s.Outcome.String())})
	}
	return wire.OKReply(id, res)
}

func (c *controller) arm(ctx actor.Context, e lifecycle.ArmTimer) {
	st := c.st
	if t := st.timers[e.Timer]; t != nil {
		t.Stop()
	}
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	st.timerDue[e.Timer] = time.Now().Add(e.After)
	st.timers[e.Timer] = time.AfterFunc(e.After, func() {
		send(self, &timerFired{lifecycle.TimerFired{Timer: e.Timer, Gen: e.Gen, At: time.Now()}})
	})
}

func (c *controller) spawn(ctx actor.Context) {
	st := c.st
	if st.spec.PIDFile != "" {
		// A stale file would name a process that is not ours.
		uid := uint32(os.Geteuid())
		if c := st.spec.Credentials; c != nil {
			uid = c.User.UID
		}
		if err := proc.RemoveStalePIDFile(st.spec.PIDFile, uid); err != nil {
			st.env.Logf("service %s: %v", st.spec.Name, err)
		}
	}
	st.tag++
	st.spawnedAt = time.Now()
	var listenEnv map[string]string
	if st.spec.Activation.Style == services.ActivationSystemd {
		listenEnv = activation.ListenEnv(st.sock.socks)
	}
	env, err := st.environ(listenEnv)
	if err != nil {
		// Answered as a failed fork would be: the start fails, saying why.
		ctx.Send(ctx.Self(), &monitor.Spawned{Tag: st.tag, Err: err, At: time.Now()})
		return
	}
	sp := &monitor.Spawn{
		Argv: st.spec.Command, Env: env, Dir: st.spec.Directory,
		Owner: ctx.Self(), Tag: st.tag, Logger: st.logger,
		// A stderr of its own: for its file, or for its lines'
		// severity in the system log.
		SplitStderr: st.spec.StderrLogFile != "" || st.spec.Log.Syslog(),
	}
	s := st.spec
	sp.Creds = st.creds()
	if s.NeedsTrampoline() {
		sp.Settings = &proc.Settings{Umask: s.Umask, Limits: s.Limits, Nice: s.Nice, IOClass: s.IOClass, IOPriority: s.IOPriority}
	}
	st.passSockets(sp)
	err = c.prepareReady(ctx, sp)
	if err == nil {
		err = st.place(sp)
	}
	if err != nil {
		// Answered as the monitor would: the start fails, saying why.
		ctx.Send(ctx.Self(), &monitor.Spawned{Tag: st.tag, Err: err, At: time.Now()})
		return
	}
	ctx.Send(st.env.Monitor, sp)
}

func (c *controller) onSpawned(ctx actor.Context, msg *monitor.Spawned) {
	st := c.st
	if msg.Hook {
		c.onHookSpawned(ctx, msg)
		return
	}
	if msg.Probe {
		c.onProbeSpawned(ctx, msg)
		return
	}
	if msg.Conn {
		c.onConnSpawned(ctx, msg)
		return
	}
	if msg.Action {
		r := st.actionSpawns[msg.Tag]
		delete(st.actionSpawns, msg.Tag)
		if msg.Err != nil {
			r.Reply <- wire.ErrReply(r.Req.ID, wire.Errorf(wire.StartFailed, "action %s of service %s: %v", r.Req.Action, st.spec.Name, msg.Err))
			return
		}
		st.actions[msg.PID] = &pendingAction{req: r, handle: msg.Handle, pipe: msg.Output}
		self, send := ctx.Self(), ctx.ActorSystem().Root.Send
		st.env.Go(func() {
			out, _ := io.ReadAll(io.LimitReader(msg.Output, 1<<20))
			io.Copy(io.Discard, msg.Output) // let the action finish writing
			msg.Output.Close()
			send(self, &actionOutput{PID: msg.PID, Output: string(out)})
		})
		return
	}
	if msg.Tag != st.tag {
		panic(fmt.Sprintf("controller %s: spawn tag %d, expected %d", st.spec.Name, msg.Tag, st.tag))
	}
	if rd := st.rd; rd != nil {
		if rd.fd != nil {
			rd.fd.CloseWriteEnd() // the process has its own
		}
		rd.session, rd.spawning = msg.PID, false
	}
	if msg.Err != nil {
		st.env.Logf("service %s: %v", st.spec.Name, msg.Err)
		c.step(ctx, lifecycle.SpawnFailed{Reason: msg.Err.Error(), At: msg.At})
		return
	}
	st.launcherStart = msg.StartTicks
	st.procs[msg.PID] = msg.Handle
	st.adoptedAt = time.Time{} // its output is captured again
	c.step(ctx, lifecycle.Spawned{PID: msg.PID, At: msg.At})
}

// runAction runs a custom action's command with $MAINPID substituted.
func (c *controller) runAction(ctx actor.Context, r *Request) {
	st := c.st
	i := slices.IndexFunc(st.spec.Actions, func(a services.Action) bool { return a.Name == r.Req.Action })
	if i < 0 {
		r.Reply <- wire.ErrReply(r.Req.ID, &wire.Error{Kind: wire.ActionNotFound, Service: st.spec.Name, Action: r.Req.Action,
			Message: fmt.Sprintf("service '%s' does not have an action '%s'", st.spec.Name, r.Req.Action)})
		return
	}
	a := st.spec.Actions[i]
	if err := a.CheckArgs(r.Req.Args); err != nil {
		r.Reply <- wire.ErrReply(r.Req.ID, &wire.Error{Kind: wire.BadRequest, Service: st.spec.Name, Action: a.Name,
			Message: fmt.Sprintf("service %s: %v", st.spec.Name, err)})
		return
	}
	mainPID := ""
	if pid := st.m.PID(); pid > 0 {
		mainPID = strconv.Itoa(pid)
	}
	argv := make([]string, 0, len(a.Command)+len(r.Req.Args))
	for _, arg := range a.Command {
		if strings.Contains(arg, "$MAINPID") && mainPID == "" {
			r.Reply <- wire.ErrReply(r.Req.ID, wire.Errorf(wire.BadRequest,
				"action %s of service %s needs $MAINPID, but the service is not running", a.Name, st.spec.Name))
			return
		}
		argv = append(argv, strings.ReplaceAll(arg, "$MAINPID", mainPID))
	}
	argv = append(argv, r.Req.Args...)
	env, err := st.environ(map[string]string{"MAINPID": mainPID})
	if err != nil {
		r.Reply <- wire.ErrReply(r.Req.ID, wire.Errorf(wire.StartFailed, "action %s of service %s: %v", a.Name, st.spec.Name, err))
		return
	}
	st.actionTag++
	st.actionSpawns[st.actionTag] = *r
	// An action runs as its service does, not as the daemon: a capability
	// to reload a service running as www-data is no way to act as root.
	// It runs in the service's cgroup (cgroup.go).
	sp := &monitor.Spawn{
		Argv: argv, Env: env,
		Dir: st.spec.Directory, Owner: ctx.Self(), Tag: st.actionTag, Action: true, Creds: st.creds(),
	}
	if err := st.place(sp); err != nil {
		ctx.Send(ctx.Self(), &monitor.Spawned{Tag: st.actionTag, Action: true, Err: err, At: time.Now()})
		return
	}
	ctx.Send(st.env.Monitor, sp)
}

func (c *controller) finishAction(ctx actor.Context, pid int) {
	st := c.st
	pa := st.actions[pid]
	if !pa.exited || !pa.gotOuput {
		return
	}
	delete(st.actions, pid)
	pa.handle.Close()
	code := pa.status.Code
	if pa.status.Signal != 0 {
		code = 128 + int(pa.status.Signal)
	}
	rep := wire.OKReply(pa.req.Req.ID, wire.ActionResult{
		Service: st.spec.Name, Outcome: wire.Done, Output: pa.output, ExitCode: code,
	})
	c.recordAction(ctx, pa.req.Who, pa.req.Req.Action, rep)
	pa.req.Reply <- rep
}

// creds is who the service's processes run as (nil: the daemon's user).
func (st *ControllerState) creds() *proc.Creds {
	c := st.spec.Credentials
	if c == nil {
		return nil
	}
	pc := &proc.Creds{UID: c.User.UID, GID: c.GID, Groups: c.Groups}
	if pc.Groups == nil {
		pc.Groups = []uint32{}
	}
	return pc
}

// userEnv is the identity of the service's user, when it has its own.
func (st *ControllerState) userEnv() map[string]string {
	c := st.spec.Credentials
	if c == nil || c.User.Name == "" {
		return nil
	}
	env := map[string]string{"USER": c.User.Name, "LOGNAME": c.User.Name, "HOME": c.User.Home}
	if c.User.Shell != "" {
		env["SHELL"] = c.User.Shell
	}
	return env
}

// pidFileTick asks the controller to look at its PID file again; ticks of
// an earlier watch are ignored.
type pidFileTick struct{ watch uint64 }

// pidFilePoll is how often a PID file is looked for.
const pidFilePoll = 20 * time.Millisecond

func (c *controller) watchPIDFile(ctx actor.Context) {
	self, send, watch := ctx.Self(), ctx.ActorSystem().Root.Send, c.st.pidWatch
	time.AfterFunc(pidFilePoll, func() { send(self, &pidFileTick{watch: watch}) })
}

// checkPIDFile reads the PID file; once it names a live process the
// service may claim (see adopt.go), that process is adopted (its exit
// comes to us) and becomes the main process. A file or process it may not
// claim fails the start, saying why.
func (c *controller) checkPIDFile(ctx actor.Context) {
	st := c.st
	if st.m.State() != lifecycle.Starting {
		return // the start ended (found, timed out, stopped)
	}
	a, err := proc.Adopt(st.adoptRule())
	switch {
	case errors.Is(err, proc.ErrNoPIDYet):
		st.pidRefusal = ""
		c.watchPIDFile(ctx)
		return
	case err != nil && err.Error() != st.pidRefusal:
		st.pidRefusal = err.Error()
		c.watchPIDFile(ctx)
		return
	case err != nil:
		st.env.Logf("service %s: %v", st.spec.Name, err)
		c.step(ctx, lifecycle.PIDFileRefused{Reason: err.Error(), At: time.Now()})
		return
	}
	h, err := a.Handle()
	if err != nil {
		// Then it cannot be signalled: its stop gives up on it after
		// SIGKILL's wait (Disown).
		st.env.Logf("service %s: %v", st.spec.Name, err)
	}
	st.procs[a.PID] = h
	ctx.Send(st.env.Monitor, &monitor.Adopt{Adoption: a, Owner: ctx.Self()})
	c.step(ctx, lifecycle.PIDFileFound{PID: a.PID, At: time.Now()})
}

// adoptRule is what the process a PID file names must satisfy.
func (st *ControllerState) adoptRule() proc.AdoptRule {
	r := proc.AdoptRule{PIDFile: st.spec.PIDFile, Self: os.Getpid(), LauncherStart: st.launcherStart, UID: uint32(st.env.UID)}
	if c := st.spec.Credentials; c != nil {
		r.UID, r.User = c.User.UID, c.User.Name
		if r.User == "" {
			r.User = "uid " + strconv.FormatUint(uint64(r.UID), 10)
		}
	}
	return r
}

// abandonWaiters answers everyone waiting when the controller failed: a
// panic may have cut a step short, after the machine decided a reply that
// was never sent. A late reply to an abandoned waiter is dropped.
func (c *controller) abandonWaiters(ctx actor.Context) {
	st := c.st
	for w, t := range st.waiters {
		if t.peer != nil {
			ctx.Send(t.peer, &PeerReply{Name: st.spec.Name, Op: t.op, Result: lifecycle.Result{
				Outcome: lifecycle.OutFailed, Reason: "internal error in its controller"}})
		} else {
			t.client <- wire.ErrReply(t.reqID, wire.Errorf(wire.Timeout,
				"internal error in the controller of %s; the request was abandoned (see the daemon log)", st.spec.Name))
		}
		st.unwait(w)
	}
	st.held = nil
}
