package lifecycle

import (
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

// State is a service's lifecycle state (design §4).
type State int

// The lifecycle states. Disabled is a flag beside them, not a state.
const (
	Stopped State = iota
	Starting
	Running
	Stopping
	Failed
)

func (s State) String() string {
	switch s {
	case Stopped:
		return "stopped"
	case Starting:
		return "starting"
	case Running:
		return "running"
	case Stopping:
		return "stopping"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// phase refines Starting and Stopping: what the machine is waiting for.
type phase int

const (
	idle            phase = iota
	awaitRequires         // Starting: requirements are being started
	awaitSpawn            // Starting: the process is being spawned
	awaitRespawn          // Starting: respawn delay is running
	awaitOneShot          // Starting: a one-shot process runs to completion
	awaitDependents       // Stopping: dependents are being stopped
	awaitExit             // Stopping: stop signal sent, waiting for the exit
	awaitPIDFile          // Starting: the launcher runs; waiting for its PID file
	awaitEmpty            // Stopping: the cgroup was killed; waiting for it to be empty
	awaitReady            // Starting: the process runs; waiting for readiness, min-uptime (ready.go)
	awaitKilled           // Starting: not ready in time; SIGKILL sent, waiting for the exit
)

// Waiter identifies a caller waiting for the outcome of an event. The actor
// maps it to whoever asked; 0 means nobody waits.
type Waiter uint64

// Outcome is what happened to a service.
type Outcome int

// Outcomes reported in Results and Steps.
const (
	OutStarted Outcome = iota + 1
	OutAlreadyRunning
	OutStopped
	OutNotRunning
	OutEnabled
	OutDisabled
	OutFailed
)

func (o Outcome) String() string {
	return [...]string{"?", "started", "already-running", "stopped", "not-running", "enabled", "disabled", "failed"}[o]
}

// Step records one service changed on the way to a Result, in order.
type Step struct {
	Service string
	Outcome Outcome
}

// Result answers a Waiter.
type Result struct {
	Outcome Outcome
	Steps   []Step
	// Reason says why a start failed.
	Reason string
	// Dependency names the requirement whose failure failed this start.
	Dependency string
	// Refused is set when a start was refused because the service is disabled.
	Refused bool
}

// TimerKind names the machine's timers.
type TimerKind int

// Timers armed by the machine.
const (
	StopTimer         TimerKind = iota // stop-timeout expired: SIGKILL
	RespawnTimer                       // respawn delay over: spawn again
	CooldownTimer                      // respawn-cooldown over: retry a failed service
	PIDFileTimer                       // pid-file-timeout over: the start failed
	KillTimer                          // SIGKILL did not end the process in KillWait: give up
	StartTimeoutTimer                  // start-timeout over: not ready in time (ready.go)
	MinUptimeTimer                     // min-uptime over: the process ran long enough
	WatchdogTimer                      // no WATCHDOG=1 within the watchdog period

	// NumTimers is the number of timer kinds, for arrays indexed by kind.
	NumTimers = iota
)

// ExitStatus is how a process ended: Code when it exited, Signal when killed.
// Unknown is set for a process that was not the daemon's child (adopted
// from a PID file) and whose parent collected the status first.
type ExitStatus struct {
	Code    int
	Signal  syscall.Signal
	Unknown bool `json:",omitempty"`
}

// Success reports a zero exit code.
func (e ExitStatus) Success() bool { return e.Signal == 0 && e.Code == 0 && !e.Unknown }

func (e ExitStatus) String() string {
	if e.Unknown {
		return "ended (its parent, not shepherd, collected its exit status)"
	}
	if e.Signal != 0 {
		return "terminated with signal " + services.SignalName(e.Signal)
	}
	return fmt.Sprintf("exited with code %d", e.Code)
}

// Exit describes the last process run of a service.
type Exit struct {
	PID     int
	Status  ExitStatus
	At      time.Time
	Runtime time.Duration
	// Success: the status is a success status of the service (exit
	// code 0, or one of its exit-codes; exitcodes.go).
	Success bool `json:",omitempty"`
}

// Events. Each carries the time it happened: the machine reads no clock.
type (
	// Event is an input to Machine.Step.
	Event interface{ at() time.Time }

	// Start asks for the service to run.
	Start struct {
		Waiter Waiter
		At     time.Time
	}
	// Stop asks for the service to stop, dependents first.
	Stop struct {
		Waiter Waiter
		At     time.Time
	}
	// Restart stops the service and the running dependents, then starts
	// them all again.
	Restart struct {
		Waiter Waiter
		At     time.Time
	}
	// Enable clears the disabled flag.
	Enable struct {
		Waiter Waiter
		At     time.Time
	}
	// Disable sets the disabled flag: no respawn, no start. Who asked
	// ("uid 1000") is kept with the intent.
	Disable struct {
		Waiter Waiter
		At     time.Time
		Who    string
	}
	// PeerDone answers a StartPeers or StopPeers effect for one peer.
	PeerDone struct {
		Name   string
		Op     PeerOp
		Result Result
		At     time.Time
	}
	// Spawned reports that the Spawn effect started a process.
	Spawned struct {
		PID int
		At  time.Time
	}
	// SpawnFailed reports that the Spawn effect could not start a process.
	SpawnFailed struct {
		Reason string
		At     time.Time
	}
	// Exited reports that a process was reaped.
	Exited struct {
		PID    int
		Status ExitStatus
		At     time.Time
	}
	// TimerFired reports that an ArmTimer effect's timer expired.
	TimerFired struct {
		Timer TimerKind
		Gen   uint64
		At    time.Time
	}
	// PIDFileFound reports that the PID file names a live process the
	// service may claim.
	PIDFileFound struct {
		PID int
		At  time.Time
	}
	// PIDFileRefused reports that the PID file cannot be used: it is not
	// a small regular file, or it names a process the service may not
	// claim (not its descendant, older than its launcher, another
	// user's). Reason says which, naming the file and the PID.
	PIDFileRefused struct {
		Reason string
		At     time.Time
	}
	// SetDependents tells the machine which services require it.
	SetDependents struct {
		Names []string
		At    time.Time
	}
)

func (e Start) at() time.Time         { return e.At }
func (e Stop) at() time.Time          { return e.At }
func (e Restart) at() time.Time       { return e.At }
func (e Enable) at() time.Time        { return e.At }
func (e Disable) at() time.Time       { return e.At }
func (e PeerDone) at() time.Time      { return e.At }
func (e Spawned) at() time.Time       { return e.At }
func (e SpawnFailed) at() time.Time   { return e.At }
func (e Exited) at() time.Time        { return e.At }
func (e TimerFired) at() time.Time    { return e.At }
func (e SetDependents) at() time.Time { return e.At }
func (e PIDFileFound) at() time.Time  { return e.At }

func (e PIDFileRefused) at() time.Time { return e.At }

// PeerOp is the operation asked of a peer service.
type PeerOp int

// Peer operations.
const (
	PeerStart PeerOp = iota
	PeerStop
)

// Effects: the work the actor must do after a Step.
type (
	// Effect is an output of Machine.Step.
	Effect interface{ effect() }

	// StartPeers starts each named service; each answers with PeerDone.
	StartPeers struct{ Names []string }
	// StopPeers stops each named service; each answers with PeerDone.
	StopPeers struct{ Names []string }
	// Spawn starts the service's process; answered by Spawned or SpawnFailed.
	Spawn struct{}
	// Signal sends Sig to the process group PGID.
	Signal struct {
		PGID int
		Sig  syscall.Signal
	}
	// ArmTimer arms a timer that comes back as TimerFired{Timer, Gen}.
	// Arming a kind again supersedes the earlier timer of that kind.
	ArmTimer struct {
		Timer TimerKind
		After time.Duration
		Gen   uint64
	}
	// Reply answers a Waiter.
	Reply struct {
		Waiter Waiter
		Result Result
	}
	// WatchPIDFile asks for PIDFileFound once the PID file names a live
	// process; the actor removes a stale file before each Spawn.
	WatchPIDFile struct{}
	// Disown says the machine no longer waits for process PID: it
	// outlived SIGKILL by services.KillWait. Its exit, should it come, is stale.
	Disown struct{ PID int }
	// Transition reports a state change, for status and `herd log`. A
	// RecordState follows it, for history (see Record).
	Transition struct {
		From, To State
		// Text is the log phrase: "is running", "is stopped", ...
		Text string
		// Reason says why, for history: why a start failed, why a stop
		// ended without the process's exit.
		Reason string
		At     time.Time
	}
)

func (StartPeers) effect()   {}
func (StopPeers) effect()    {}
func (Spawn) effect()        {}
func (Signal) effect()       {}
func (ArmTimer) effect()     {}
func (Reply) effect()        {}
func (Transition) effect()   {}
func (WatchPIDFile) effect() {}
func (Disown) effect()       {}

// Machine is the lifecycle of one service: a pure state machine. It does no
// I/O, reads no clock and starts nothing; Step returns the effects for the
// caller to perform. A Machine is not safe for concurrent use.
type Machine struct {
	policy     services.Policy
	nextPolicy *services.Policy // a reloaded policy for the next start
	dependents []string

	state   State
	phase   phase
	since   time.Time
	enabled bool
	// disabled says why, when not enabled (intent.go).
	disabled Disabled

	pid       int
	startedAt time.Time

	startWaiters []Waiter
	stopWaiters  []Waiter
	steps        []Step
	pending      map[string]bool
	pendingOp    PeerOp
	// order are the peers a start waits for beside its requirements,
	// with what was asked of them; conflicts are the services it stops
	// first; startWatchers wait for the start in progress to end
	// (order.go).
	order         map[string]PeerOp
	conflicts     []string
	startWatchers []Waiter
	failedDep     string
	failedWhy     string // the failed requirement's reason
	// stopWhenSpawned: a Stop arrived while the process was being spawned.
	stopWhenSpawned bool
	// startWhenStopped: a Start arrived while stopping.
	startWhenStopped bool

	restarting     bool
	restartWaiters []Waiter
	restartDeps    []string // dependents that were running before a restart

	respawnTimes    []time.Time
	respawnCount    int
	lastRespawn     time.Time
	delay           time.Duration
	disabledByLimit bool

	lastExit   *Exit
	failing    bool
	failedAt   time.Time
	failReason string
	done       bool
	// stopIssue says why the last stop ended without the process's exit.
	stopIssue string

	gens [NumTimers]uint64

	// launcher is the spawned process of a service with a PID file, while
	// its PID file is awaited.
	launcher int

	// rd is the readiness of the current start and what sd_notify said
	// of the current process (ready.go).
	rd readyState
	// act is the socket activation state (activation.go).
	act activation
	// killing: a KillCgroup (number cgroupGen) awaits its CgroupEmpty;
	// spawnWhenEmpty: a Spawn waits for it (cgroup.go).
	cgroupGen      uint64
	killing        bool
	spawnWhenEmpty bool
}

// NewMachine returns a stopped, enabled machine.
func NewMachine(p services.Policy, now time.Time) *Machine {
	return &Machine{policy: p, enabled: true, since: now}
}

// Snapshot is what status reports of a machine.
type Snapshot struct {
	State        State
	Since        time.Time
	Enabled      bool
	PID          int
	Failing      bool
	FailedAt     time.Time
	FailReason   string
	Done         bool
	LastExit     *Exit
	LastRespawn  time.Time
	RespawnCount int
	// Disabled says since when and why, when not Enabled (zero if that
	// is not known).
	Disabled Disabled
	// StopIssue says why the last stop ended without the process's exit
	// ("process 123 could not be stopped: ..."); empty after a new start.
	StopIssue string
	// StatusText is what the process said of itself with sd_notify's
	// STATUS=; Reloading and SelfStopping are its RELOADING=1 (until
	// READY=1) and STOPPING=1.
	StatusText   string
	Reloading    bool
	SelfStopping bool
	// Activation is the state of the service's sockets, if it has any.
	Activation ActivationSnapshot
}

// Snapshot returns the machine's observable state.
func (m *Machine) Snapshot() Snapshot {
	s := Snapshot{
		State: m.state, Since: m.since, Enabled: m.enabled, PID: m.pid,
		Failing: m.failing, FailedAt: m.failedAt, FailReason: m.failReason,
		Done: m.done, LastRespawn: m.lastRespawn, RespawnCount: m.respawnCount, Disabled: m.disabled,
		StopIssue: m.stopIssue, Activation: m.activationSnapshot(),
		StatusText: m.rd.status, Reloading: m.rd.reloading, SelfStopping: m.rd.stopping,
	}
	if m.lastExit != nil {
		e := *m.lastExit
		s.LastExit = &e
	}
	return s
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// PID returns the main process's PID, or 0.
func (m *Machine) PID() int { return m.pid }

// Policy returns the machine's policy.
func (m *Machine) Policy() services.Policy { return m.policy }

// Replace gives the machine a reloaded policy: at once when the service
// is stopped or failed, else at its next start (a respawn keeps the old).
// It reports whether the new policy is already in force.
func (m *Machine) Replace(p services.Policy) bool {
	if m.state == Stopped || m.state == Failed {
		m.policy, m.nextPolicy = p, nil
		return true
	}
	m.nextPolicy = &p
	return false
}

// Step feeds one event and returns the effects to perform, in order.
func (m *Machine) Step(ev Event) []Effect {
	var out []Effect
	emit := func(e ...Effect) { out = append(out, e...) }
	switch ev := ev.(type) {
	case Start:
		m.onStart(ev, emit)
	case Stop:
		m.onStop(ev.Waiter, ev.At, emit)
	case Restart:
		m.onRestart(ev, emit)
	case Enable:
		m.setEnabled(emit)
		if m.disabledByLimit {
			m.disabledByLimit = false
			m.gens[CooldownTimer]++
		}
		m.reply(emit, ev.Waiter, Result{Outcome: OutEnabled})
	case Disable:
		m.setDisabled(Disabled{At: ev.At, Cause: CauseUser, Who: ev.Who}, emit)
		if m.disabledByLimit {
			// The user's word: no cooldown enables it again.
			m.disabledByLimit = false
			m.gens[CooldownTimer]++
		}
		if m.state == Starting && m.phase == awaitRespawn {
			m.gens[RespawnTimer]++
			m.setState(Stopped, idle, ev.At, emit)
			// A start asked for during the respawn delay ends here.
			r := m.refused()
			m.replyAll(emit, m.startWaiters, r)
			m.replyAll(emit, m.restartWaiters, r)
			m.startWaiters, m.restartWaiters = nil, nil
		}
		m.reply(emit, ev.Waiter, Result{Outcome: OutDisabled})
	case PeerDone:
		m.onPeerDone(ev, emit)
	case Spawned:
		m.onSpawned(ev, emit)
	case SpawnFailed:
		if m.state != Starting || m.phase != awaitSpawn {
			panic(fmt.Sprintf("services: %s: SpawnFailed in %v/%d", m.policy.Name, m.state, m.phase))
		}
		m.fail(ev.Reason, ev.At, emit)
		if m.stopWhenSpawned {
			m.stopWhenSpawned = false
			m.finishStops(emit, OutStopped)
		}
	case Exited:
		m.onExited(ev, emit)
	case TimerFired:
		m.onTimer(ev, emit)
	case SetDependents:
		m.dependents = slices.Clone(ev.Names)
	case SetConflicts:
		m.conflicts = slices.Clone(ev.Names)
	case AwaitStart:
		m.onAwaitStart(ev, emit)
	case PIDFileFound:
		if m.state == Starting && m.phase == awaitPIDFile {
			m.gens[PIDFileTimer]++
			m.pid, m.launcher = ev.PID, 0
			if m.policy.Ready.Phased() {
				m.enterReadiness(ev.At, emit)
				return out
			}
			m.becomeRunning(ev.At, emit)
		}
	case Ready, ProbeFailed, StatusText, MainPID, Reloading, StoppingNotice, WatchdogPing, ExtendTimeout:
		m.onReadyEvent(ev, emit)
	case PIDFileRefused:
		if m.state == Starting && m.phase == awaitPIDFile {
			m.gens[PIDFileTimer]++
			m.killAll(m.launcher, emit)
			m.launcher = 0
			m.fail(ev.Reason, ev.At, emit)
		}
	case Listening, ListenFailed, ConnectionPending, ConnAccepted, ConnEnded:
		m.onActivation(ev, emit)
	case CgroupEmpty:
		m.onCgroupEmpty(ev, emit)
	default:
		panic(fmt.Sprintf("services: unknown event %T", ev))
	}
	m.closeSocketsIfDown(emit)
	return out
}

func (m *Machine) reply(emit func(...Effect), w Waiter, r Result) {
	if w != 0 {
		emit(Reply{Waiter: w, Result: r})
	}
}

func (m *Machine) replyAll(emit func(...Effect), ws []Waiter, r Result) {
	for _, w := range ws {
		m.reply(emit, w, r)
	}
}

func (m *Machine) setState(s State, p phase, now time.Time, emit func(...Effect)) {
	from := m.state
	m.phase = p
	if from == s {
		return
	}
	m.state = s
	m.since = now
	text := ""
	switch s {
	case Starting:
		text = "is being started"
	case Running:
		text = "is running"
	case Stopping:
		text = "is being stopped"
	case Stopped:
		text = "is stopped"
		if m.done {
			text = "is done (one-shot)"
		}
	case Failed:
		text = "failed to start"
	}
	reason := ""
	switch s {
	case Failed:
		reason = m.failReason
	case Stopped:
		reason = m.stopIssue
	}
	emit(Transition{From: from, To: s, Text: text, Reason: reason, At: now},
		Record{Kind: RecordState, At: now, State: s.String(), Message: reason})
	m.settleWatchers(from, s, emit)
}

func (m *Machine) onStart(ev Start, emit func(...Effect)) {
	switch m.state {
	case Running:
		m.reply(emit, ev.Waiter, Result{Outcome: OutAlreadyRunning})
		return
	case Starting:
		m.addWaiter(&m.startWaiters, ev.Waiter)
		return
	case Stopping:
		m.addWaiter(&m.startWaiters, ev.Waiter)
		m.startWhenStopped = true
		return
	}
	if !m.enabled {
		m.reply(emit, ev.Waiter, m.refused())
		return
	}
	m.addWaiter(&m.startWaiters, ev.Waiter)
	m.beginStart(ev.At, emit)
}

func (m *Machine) addWaiter(ws *[]Waiter, w Waiter) {
	if w != 0 {
		*ws = append(*ws, w)
	}
}

// beginStart leaves Stopped or Failed: requirements first, then the process.
func (m *Machine) beginStart(now time.Time, emit func(...Effect)) {
	if m.nextPolicy != nil {
		m.policy, m.nextPolicy = *m.nextPolicy, nil
	}
	m.steps = nil
	m.failedDep = ""
	m.done = false
	m.stopIssue = ""
	m.rd.respawn = false
	m.delay = 0
	m.gens[CooldownTimer]++
	if len(m.policy.Requires) == 0 && !m.hasOrderPeers() {
		m.setState(Starting, awaitSpawn, now, emit)
		m.launch(now, emit)
		return
	}
	m.setState(Starting, awaitRequires, now, emit)
	if len(m.policy.Requires) > 0 {
		m.awaitPeers(PeerStart, m.policy.Requires)
		emit(StartPeers{Names: slices.Clone(m.policy.Requires)})
	}
	m.orderPeers(emit)
	if len(m.pending) == 0 && len(m.order) == 0 {
		m.launch(now, emit) // only wanted services: nothing to wait for
	}
}

func (m *Machine) awaitPeers(op PeerOp, names []string) {
	m.pendingOp = op
	m.pending = make(map[string]bool, len(names))
	for _, n := range names {
		m.pending[n] = true
	}
}

// launch spawns the process, or for a milestone is running at once.
func (m *Machine) launch(now time.Time, emit func(...Effect)) {
	if !m.policy.HasProcess {
		m.becomeRunning(now, emit)
		return
	}
	if m.sockets() {
		m.listen(emit)
		return
	}
	m.dropSockets(emit)
	m.phase = awaitSpawn
	m.spawn(emit)
}

func (m *Machine) becomeRunning(now time.Time, emit func(...Effect)) {
	m.failing = false
	m.setState(Running, idle, now, emit)
	m.steps = append(m.steps, Step{Service: m.policy.Name, Outcome: OutStarted})
	m.replyAll(emit, m.startWaiters, Result{Outcome: OutStarted, Steps: m.steps})
	m.startWaiters = nil
	if m.restarting {
		m.restarting = false
		if len(m.restartDeps) > 0 {
			m.awaitPeers(PeerStart, m.restartDeps)
			emit(StartPeers{Names: m.restartDeps})
			m.restartDeps = nil
			return
		}
		m.replyAll(emit, m.restartWaiters, Result{Outcome: OutStarted, Steps: m.steps})
		m.restartWaiters = nil
	}
}

// fail ends a start attempt: the service is failed and every start waiter
// is told why.
func (m *Machine) fail(reason string, now time.Time, emit func(...Effect)) {
	m.pid = 0
	m.failing = true
	m.failedAt = now
	m.failReason = reason
	m.setState(Failed, idle, now, emit)
	r := Result{Outcome: OutFailed, Reason: reason, Steps: m.steps}
	m.replyAll(emit, m.startWaiters, r)
	m.replyAll(emit, m.restartWaiters, r)
	m.startWaiters, m.restartWaiters = nil, nil
	m.restarting = false
	m.startWhenStopped = false
}

func (m *Machine) onPeerDone(ev PeerDone, emit func(...Effect)) {
	if m.onOrderDone(ev, emit) {
		return
	}
	if !m.pending[ev.Name] || ev.Op != m.pendingOp {
		return // an answer to an abandoned request
	}
	delete(m.pending, ev.Name)
	if len(m.pending) == 0 {
		m.pending = nil // a thousand services waiting on none should hold no maps
	}
	for _, s := range ev.Result.Steps {
		if !slices.Contains(m.steps, s) {
			m.steps = append(m.steps, s)
		}
	}
	switch {
	case m.state == Starting && m.phase == awaitRequires:
		if ev.Result.Outcome == OutFailed && m.failedDep == "" {
			m.failedDep, m.failedWhy = ev.Name, ev.Result.Reason
		}
		if len(m.pending) > 0 {
			return
		}
		if m.failedDep != "" {
			dep := m.failedDep
			m.order = nil // answers still to come are stale
			m.setState(Stopped, idle, ev.At, emit)
			why := m.failedWhy
			if why == "" {
				why = "requirement " + dep + " failed"
			}
			r := Result{Outcome: OutFailed, Dependency: dep, Reason: why, Steps: m.steps}
			m.replyAll(emit, m.startWaiters, r)
			m.replyAll(emit, m.restartWaiters, r)
			m.startWaiters, m.restartWaiters = nil, nil
			m.restarting = false
			return
		}
		if len(m.order) > 0 {
			return // what it is after, and conflicts with, settle first
		}
		m.launch(ev.At, emit)
	case m.state == Stopping && m.phase == awaitDependents:
		if m.restarting && ev.Result.Outcome == OutStopped {
			m.restartDeps = append(m.restartDeps, ev.Name)
		}
		if len(m.pending) > 0 {
			return
		}
		m.signalStop(ev.At, emit)
	case m.state == Running && len(m.restartWaiters) > 0:
		if len(m.pending) > 0 {
			return
		}
		m.replyAll(emit, m.restartWaiters, Result{Outcome: OutStarted, Steps: m.steps})
		m.restartWaiters = nil
	}
}

func (m *Machine) onSpawned(ev Spawned, emit func(...Effect)) {
	if m.state != Starting || m.phase != awaitSpawn {
		panic(fmt.Sprintf("services: %s: Spawned in %v/%d", m.policy.Name, m.state, m.phase))
	}
	emit(Record{Kind: RecordStart, At: ev.At, PID: ev.PID})
	m.resetNotified()
	if m.policy.PIDFile {
		m.launcher = ev.PID
		m.startedAt = ev.At
		if m.stopWhenSpawned {
			m.stopWhenSpawned = false
			m.abortStarts(emit)
			m.pid = ev.PID
			m.setState(Stopping, awaitExit, ev.At, emit)
			m.sendStopSignal(emit)
			return
		}
		m.phase = awaitPIDFile
		m.gens[PIDFileTimer]++
		emit(WatchPIDFile{}, ArmTimer{Timer: PIDFileTimer, After: m.policy.PIDFileTimeout, Gen: m.gens[PIDFileTimer]})
		return
	}
	m.pid = ev.PID
	m.startedAt = ev.At
	if m.stopWhenSpawned {
		m.stopWhenSpawned = false
		m.abortStarts(emit)
		m.setState(Stopping, awaitExit, ev.At, emit)
		m.sendStopSignal(emit)
		return
	}
	if m.policy.OneShot {
		m.phase = awaitOneShot
		return
	}
	if m.policy.Ready.Phased() {
		m.enterReadiness(ev.At, emit)
		return
	}
	m.becomeRunning(ev.At, emit)
}

func (m *Machine) abortStarts(emit func(...Effect)) {
	r := Result{Outcome: OutFailed, Reason: "stopped while starting", Steps: m.steps}
	m.replyAll(emit, m.startWaiters, r)
	m.replyAll(emit, m.restartWaiters, r)
	m.startWaiters, m.restartWaiters = nil, nil
	m.restarting = false
}

func (m *Machine) onStop(w Waiter, now time.Time, emit func(...Effect)) {
	switch m.state {
	case Stopped, Failed:
		m.failing = false
		m.disabledByLimit = false
		m.gens[CooldownTimer]++
		if m.killing {
			// What the failed start left is being killed: stopped
			// once it is gone.
			m.addWaiter(&m.stopWaiters, w)
			m.steps = nil
			m.setState(Stopping, awaitEmpty, now, emit)
			return
		}
		m.setState(Stopped, idle, now, emit)
		m.reply(emit, w, Result{Outcome: OutNotRunning})
		return
	case Stopping:
		m.addWaiter(&m.stopWaiters, w)
		if m.startWhenStopped && !m.restarting {
			// The start asked for after the stop began is called off:
			// its callers are told, not left waiting.
			m.replyAll(emit, m.startWaiters, Result{Outcome: OutFailed, Reason: "stopped while starting", Steps: m.steps})
			m.startWaiters = nil
		}
		m.startWhenStopped = false
		return
	case Starting:
		m.addWaiter(&m.stopWaiters, w)
		switch m.phase {
		case awaitSpawn:
			if m.spawnWhenEmpty {
				// Nothing was spawned yet: no process to wait for.
				m.spawnWhenEmpty = false
				m.abortStarts(emit)
				m.setState(Stopping, awaitEmpty, now, emit)
				return
			}
			m.stopWhenSpawned = true
		case awaitRequires, awaitRespawn, awaitListen:
			m.gens[RespawnTimer]++
			m.pending, m.order = nil, nil
			m.abortStarts(emit)
			m.setState(Stopped, idle, now, emit)
			m.finishStops(emit, OutStopped)
		case awaitReady, awaitKilled:
			m.stopInReadiness(now, emit)
		case awaitOneShot:
			m.abortStarts(emit)
			m.setState(Stopping, awaitExit, now, emit)
			m.sendStopSignal(emit)
		case awaitPIDFile:
			m.gens[PIDFileTimer]++
			killed := m.killAll(m.launcher, emit)
			m.launcher = 0
			m.abortStarts(emit)
			if killed {
				m.setState(Stopping, awaitEmpty, now, emit)
				return
			}
			m.setState(Stopped, idle, now, emit)
			m.finishStops(emit, OutStopped)
		}
		return
	}
	// Running: dependents first.
	m.addWaiter(&m.stopWaiters, w)
	m.steps = nil
	if len(m.dependents) == 0 {
		m.setState(Stopping, awaitDependents, now, emit)
		m.signalStop(now, emit)
		return
	}
	m.setState(Stopping, awaitDependents, now, emit)
	m.awaitPeers(PeerStop, m.dependents)
	emit(StopPeers{Names: slices.Clone(m.dependents)})
}

// signalStop runs once dependents are down: signal the process, or for a
// milestone (or a process that already exited) be stopped at once.
func (m *Machine) signalStop(now time.Time, emit func(...Effect)) {
	if m.pid == 0 {
		if m.stopWithoutProcess(emit) {
			return
		}
		m.stopWhenEmpty(now, emit)
		return
	}
	m.phase = awaitExit
	m.sendStopSignal(emit)
}

func (m *Machine) sendStopSignal(emit func(...Effect)) {
	m.gens[StopTimer]++
	emit(Signal{PGID: m.pid, Sig: m.policy.StopSignal},
		ArmTimer{Timer: StopTimer, After: m.policy.StopTimeout, Gen: m.gens[StopTimer]})
}

// becomeStopped completes a stop: reply, then go on with a pending restart
// or start.
func (m *Machine) becomeStopped(now time.Time, emit func(...Effect)) {
	m.pid = 0
	m.setState(Stopped, idle, now, emit)
	m.finishStops(emit, OutStopped)
	if m.restarting || m.startWhenStopped {
		m.startWhenStopped = false
		if !m.enabled {
			r := m.refused()
			m.replyAll(emit, m.startWaiters, r)
			m.replyAll(emit, m.restartWaiters, r)
			m.startWaiters, m.restartWaiters = nil, nil
			m.restarting = false
			return
		}
		steps := m.steps
		m.beginStart(now, emit)
		m.steps = steps
	}
}

func (m *Machine) finishStops(emit func(...Effect), o Outcome) {
	m.steps = append(m.steps, Step{Service: m.policy.Name, Outcome: o})
	m.replyAll(emit, m.stopWaiters, Result{Outcome: o, Steps: m.steps})
	m.stopWaiters = nil
}

func (m *Machine) onRestart(ev Restart, emit func(...Effect)) {
	if m.state != Running {
		// Restarting something that does not run is starting it.
		m.onStart(Start(ev), emit)
		return
	}
	m.restarting = true
	m.restartDeps = nil
	m.addWaiter(&m.restartWaiters, ev.Waiter)
	m.onStop(0, ev.At, emit)
}

func (m *Machine) onExited(ev Exited, emit func(...Effect)) {
	if m.state == Starting && m.phase == awaitPIDFile && ev.PID == m.launcher {
		// A launcher that daemonized exits 0; anything else failed.
		m.launcher = 0
		if !ev.Status.Success() {
			m.lastExit = &Exit{PID: ev.PID, Status: ev.Status, At: ev.At, Runtime: ev.At.Sub(m.startedAt)}
			m.gens[PIDFileTimer]++
			if m.policy.Cgroup {
				m.killAll(0, emit) // what it may have started before failing
			}
			m.fail("process "+ev.Status.String()+" before writing its PID file", ev.At, emit)
		}
		return
	}
	if ev.PID != m.pid || m.pid == 0 {
		return // not our current process: a stale or foreign exit
	}
	m.lastExit = &Exit{PID: ev.PID, Status: ev.Status, At: ev.At, Runtime: ev.At.Sub(m.startedAt), Success: succeeded(m.policy, ev.Status)}
	m.pid = 0
	rec := exitRecord(*m.lastExit)
	m.annotateExit(&rec)
	m.noteSuccess(&rec, ev.Status)
	emit(rec)
	switch {
	case m.state == Stopping && m.phase == awaitExit:
		m.gens[StopTimer]++
		m.gens[KillTimer]++
		// Kill what the main process left: its cgroup, or its group
		// (grandchildren).
		m.killAll(ev.PID, emit)
		m.stopWhenEmpty(ev.At, emit)
	case m.state == Stopping:
		// Exited while its dependents were being stopped: nothing to
		// signal once they are down, but what it left in its cgroup.
		if m.policy.Cgroup {
			m.killAll(0, emit)
		}
	case m.state == Starting && (m.phase == awaitReady || m.phase == awaitKilled):
		m.onEarlyExit(ev, emit)
	case m.state == Starting && m.phase == awaitOneShot:
		if m.policy.Cgroup {
			// A one-shot is done when its process is; what it left is
			// killed, and its next run waits for that.
			m.killAll(0, emit)
		}
		if m.lastExit.Success {
			m.done = true
			m.failing = false
			m.steps = append(m.steps, Step{Service: m.policy.Name, Outcome: OutStarted})
			m.setState(Stopped, idle, ev.At, emit)
			m.replyAll(emit, m.startWaiters, Result{Outcome: OutStarted, Steps: m.steps})
			m.startWaiters = nil
			return
		}
		m.fail("one-shot process "+ev.Status.String(), ev.At, emit)
	case m.state == Running:
		if !m.onListeningExit(ev, emit) {
			m.onCrash(ev, emit)
		}
	}
}

// onCrash handles an unexpected exit of a running service.
func (m *Machine) onCrash(ev Exited, emit func(...Effect)) {
	if m.policy.Cgroup {
		// What the crashed process left (the workers of a master killed
		// with -9) goes with it, before any respawn.
		m.killAll(0, emit)
	}
	if !respawnsAfter(m.policy, ev.Status) || !m.enabled {
		if m.killing {
			m.setState(Stopping, awaitEmpty, ev.At, emit)
			return
		}
		m.setState(Stopped, idle, ev.At, emit)
		return
	}
	lim := m.policy.RespawnLimit
	if !lim.Unlimited {
		cut := ev.At.Add(-lim.Window)
		m.respawnTimes = slices.DeleteFunc(m.respawnTimes, func(t time.Time) bool { return !t.After(cut) })
		if len(m.respawnTimes) >= lim.Count {
			m.disabledByLimit = true
			m.respawnTimes = nil
			respawns := "respawns"
			if lim.Count == 1 {
				respawns = "respawn"
			}
			reason := fmt.Sprintf("respawn limit hit: %d %s within %v", lim.Count, respawns, lim.Window)
			m.fail(reason, ev.At, emit)
			emit(Record{Kind: RecordRespawnLimit, At: ev.At, Message: reason})
			m.setDisabled(Disabled{At: ev.At, Cause: CauseRespawnLimit, Reason: reason}, emit)
			if m.policy.RespawnCooldown > 0 {
				m.gens[CooldownTimer]++
				emit(ArmTimer{Timer: CooldownTimer, After: m.policy.RespawnCooldown, Gen: m.gens[CooldownTimer]})
			}
			return
		}
		m.respawnTimes = append(m.respawnTimes, ev.At)
	}
	m.respawnCount++
	m.lastRespawn = ev.At
	delay := m.policy.RespawnDelay
	if m.policy.RespawnBackoff {
		// A run as long as the longest delay was stable: start over.
		if m.lastExit.Runtime >= m.policy.RespawnMaxDelay {
			m.delay = 0
		}
		if m.delay == 0 {
			m.delay = m.policy.RespawnDelay
		} else {
			m.delay = min(2*m.delay, m.policy.RespawnMaxDelay)
		}
		delay = m.delay
	}
	m.steps = nil
	m.rd.respawn = true
	m.setState(Starting, awaitRespawn, ev.At, emit)
	emit(Record{Kind: RecordRespawn, At: ev.At})
	m.gens[RespawnTimer]++
	emit(ArmTimer{Timer: RespawnTimer, After: delay, Gen: m.gens[RespawnTimer]})
}

func (m *Machine) onTimer(ev TimerFired, emit func(...Effect)) {
	if ev.Gen != m.gens[ev.Timer] {
		return // superseded or cancelled
	}
	if m.onConnTimer(ev, emit) || m.onReadyTimer(ev, emit) {
		return
	}
	switch ev.Timer {
	case StopTimer:
		if m.state == Stopping && m.phase == awaitExit && m.pid != 0 {
			m.gens[KillTimer]++
			m.killAll(m.pid, emit)
			emit(ArmTimer{Timer: KillTimer, After: m.policy.KillWait, Gen: m.gens[KillTimer]})
		}
	case KillTimer:
		if m.state == Stopping && m.phase == awaitExit && m.pid != 0 {
			// The exit may never come: the stop ends without it.
			pid := m.pid
			m.stopIssue = fmt.Sprintf("process %d could not be stopped: still there %v after SIGKILL", pid, m.policy.KillWait)
			emit(Disown{PID: pid})
			m.becomeStopped(ev.At, emit)
		}
	case RespawnTimer:
		if m.state == Starting && m.phase == awaitRespawn {
			m.phase = awaitSpawn
			m.spawn(emit)
		}
	case PIDFileTimer:
		if m.state == Starting && m.phase == awaitPIDFile {
			m.killAll(m.launcher, emit)
			m.launcher = 0
			m.fail(fmt.Sprintf("no PID file within %v", m.policy.PIDFileTimeout), ev.At, emit)
		}
	case CooldownTimer:
		if m.state == Failed && m.disabledByLimit {
			m.disabledByLimit = false
			m.setEnabled(emit)
			m.beginStart(ev.At, emit)
		}
	}
}
