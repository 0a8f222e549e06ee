package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Request is the first frame a client sends on a stream. One connection may
// carry many requests; replies name the request they answer by ID.
type Request struct {
	ID      uint64   `json:"id"`
	Service string   `json:"service,omitempty"`
	Action  string   `json:"action"`
	Args    []string `json:"args,omitempty"`
	// Cap is an optional sturdyref presented for this one request. A
	// request that presents one has no other authority: its caller's uid
	// or peer only counts as the capability's holder.
	Cap string `json:"cap,omitempty"`
	// Relayed marks a request a daemon relays for a local user other than
	// its owner: the exporter checks the capability as presented by
	// anyone, so that grants bound to the relaying daemon do not serve
	// its other users.
	Relayed bool `json:"relayed,omitempty"`
}

// Reply answers a Request. A streaming action (log -f, events --follow)
// sends replies with More set until the last one.
type Reply struct {
	ID     uint64          `json:"id"`
	OK     bool            `json:"ok"`
	More   bool            `json:"more,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
	// Seq, on the answer to a service's status or action, is the history
	// sequence number of the last change of the service it reflects:
	// events with a higher Seq are newer than the answer.
	Seq uint64 `json:"seq,omitempty"`
}

// ErrorKind is one of the closed set of error kinds of the protocol.
type ErrorKind string

// The error kinds. The set is closed: clients may switch on it.
const (
	ServiceNotFound   ErrorKind = "service-not-found"
	ActionNotFound    ErrorKind = "action-not-found"
	DependencyFailed  ErrorKind = "dependency-failed"
	StartFailed       ErrorKind = "start-failed"
	PermissionDenied  ErrorKind = "permission-denied"
	CapabilityRevoked ErrorKind = "capability-revoked"
	CapabilityExpired ErrorKind = "capability-expired"
	Unreachable       ErrorKind = "unreachable"
	Timeout           ErrorKind = "timeout"
	InvalidConfig     ErrorKind = "invalid-config"
	BadRequest        ErrorKind = "bad-request"
)

// KnownKind says whether k is one of the protocol's error kinds.
func KnownKind(k ErrorKind) bool {
	switch k {
	case ServiceNotFound, ActionNotFound, DependencyFailed, StartFailed, PermissionDenied,
		CapabilityRevoked, CapabilityExpired, Unreachable, Timeout, InvalidConfig, BadRequest:
		return true
	}
	return false
}

// Error is a failed reply. Service, Action and Dependency carry the names
// the client needs to print the contract's texts without parsing Message.
type Error struct {
	Kind       ErrorKind `json:"kind"`
	Message    string    `json:"message"`
	Service    string    `json:"service,omitempty"`
	Action     string    `json:"action,omitempty"`
	Dependency string    `json:"dependency,omitempty"`
	// Disabled is set on a start-failed error caused by the service being
	// disabled (herd prints "Service NAME is currently disabled.", then
	// the Reason: why, and what to do).
	Disabled bool `json:"disabled,omitempty"`
	// Reason says why a requirement failed (dependency-failed), why a
	// start failed (start-failed), or why a disabled service is and what
	// to do (start-failed, Disabled); Steps
	// what was started or stopped on the way.
	Reason string `json:"reason,omitempty"`
	Steps  []Step `json:"steps,omitempty"`
	// Recent are the service's last output lines, timestamped, after a
	// start that failed (start-failed with a Reason).
	Recent []string `json:"recent,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// Is lets errors.Is match on the kind alone: errors.Is(err, &wire.Error{Kind: wire.Timeout}).
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Kind == e.Kind
}

// Errorf builds an Error of the given kind.
func Errorf(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Outcome says what an action did to a service.
type Outcome string

// Outcomes of the lifecycle actions.
const (
	Started        Outcome = "started"
	AlreadyRunning Outcome = "already-running"
	Stopped        Outcome = "stopped"
	NotRunning     Outcome = "not-running"
	Enabled        Outcome = "enabled"
	Disabled       Outcome = "disabled"
	Done           Outcome = "done"
)

// ActionResult is the result of start, stop, restart, enable, disable and
// custom actions. Steps lists, in order, every service the action touched
// (a restart stops and starts dependents too).
type ActionResult struct {
	Service string  `json:"service"`
	Outcome Outcome `json:"outcome"`
	Steps   []Step  `json:"steps,omitempty"`
	// Output and ExitCode are set for custom actions.
	Output   string `json:"output,omitempty"`
	ExitCode int    `json:"exit_code,omitempty"`
}

// KillResult answers `kill`: the signal sent (by its name, SIGHUP) and
// the processes it was sent to. Its request's Args are the signal and
// whom to send it to, main or all: ["SIGHUP", "all"] (services.ParseKillArgs).
type KillResult struct {
	Service string `json:"service"`
	Signal  string `json:"signal"`
	Whom    string `json:"whom"`
	PIDs    []int  `json:"pids"`
}

// Step is one service changed by an action.
type Step struct {
	Service string  `json:"service"`
	Outcome Outcome `json:"outcome"`
}

// Service states as they appear on the wire and in status.
const (
	StateStopped  = "stopped"
	StateStarting = "starting"
	StateRunning  = "running"
	StateStopping = "stopping"
	StateFailed   = "failed"
	// StateUnreachable is a remote service whose daemon cannot be reached.
	StateUnreachable = "unreachable"
)

// Summary is one line of `herd status`.
type Summary struct {
	Name    string `json:"name"`
	State   string `json:"state"`
	OneShot bool   `json:"one_shot,omitempty"`
	// Done is set on a one-shot service that completed successfully.
	Done    bool `json:"done,omitempty"`
	Enabled bool `json:"enabled"`
	// Transient is a service `herd spawn` made: it is removed once it
	// stops.
	Transient bool `json:"transient,omitempty"`
}

// StatusAll is the result of `status` without a service.
type StatusAll struct {
	Services []Summary `json:"services"`
}

// ExitInfo describes how a process ended.
type ExitInfo struct {
	PID     int       `json:"pid"`
	Code    int       `json:"code"`
	Signal  string    `json:"signal,omitempty"`
	At      time.Time `json:"at,omitzero"`
	Runtime Duration  `json:"runtime"`
	// Unknown: the process was adopted from a PID file, and another
	// process collected its exit status (Code and Signal mean nothing).
	Unknown bool `json:"unknown,omitempty"`
	// Success: the status is one of the service's success statuses,
	// exit code 0 or one of its exit-codes (143 for a JVM stopped).
	Success bool `json:"success,omitempty"`
}

// Status is the result of `status SERVICE`.
type Status struct {
	Name          string    `json:"name"`
	Provides      []string  `json:"provides"`
	Requires      []string  `json:"requires"`
	Documentation string    `json:"documentation,omitempty"`
	State         string    `json:"state"`
	Since         time.Time `json:"since,omitzero"`
	Enabled       bool      `json:"enabled"`
	// Disabled says since when, by whom and why a disabled service is
	// (absent when that is not known). It holds across restarts of the
	// daemon, until `herd enable`.
	Disabled  *DisabledInfo `json:"disabled,omitempty"`
	OneShot   bool          `json:"one_shot,omitempty"`
	Done      bool          `json:"done,omitempty"`
	Milestone bool          `json:"milestone,omitempty"`
	// Transient is a service `herd spawn` made: it is removed once it
	// stops (its history stays).
	Transient bool `json:"transient,omitempty"`
	// Failing is set when the last start failed or the respawn limit was hit.
	Failing     bool      `json:"failing,omitempty"`
	FailedAt    time.Time `json:"failed_at,omitzero"`
	FailReason  string    `json:"fail_reason,omitempty"`
	PID         int       `json:"pid,omitempty"`
	Command     []string  `json:"command,omitempty"`
	Respawn     bool      `json:"respawn"`
	LastRespawn time.Time `json:"last_respawn,omitzero"`
	Respawns    int       `json:"respawns"`
	LastExit    *ExitInfo `json:"last_exit,omitempty"`
	Actions     []string  `json:"actions,omitempty"`
	// StopIssue says why the last stop ended without the process's exit
	// ("process 123 could not be stopped: ...").
	StopIssue string `json:"stop_issue,omitempty"`
	// Recent holds the last lines of the service's output, timestamped.
	Recent []string `json:"recent,omitempty"`
	// LogError says why the service's log file cannot be written (its
	// output is then kept in memory only).
	LogError string `json:"log_error,omitempty"`
	// RespawnsLastHour counts respawns in the last hour (from history).
	RespawnsLastHour int `json:"respawns_last_hour,omitempty"`
	// FlappingCount is set when the service was respawned at least 3 times
	// in the last FlappingMinutes minutes.
	FlappingCount   int `json:"flapping_count,omitempty"`
	FlappingMinutes int `json:"flapping_minutes,omitempty"`
	// ReplacementPending is set when a reloaded definition waits for the
	// next start.
	ReplacementPending bool `json:"replacement_pending,omitempty"`
	// Adopted is when the main process, left running by a previous
	// daemon that ended without stopping it, was adopted: its output is
	// not captured until the service's next start.
	Adopted time.Time `json:"adopted,omitzero"`
	// Daemon is set for the root service (shepherd, alias root).
	Daemon *DaemonInfo `json:"daemon,omitempty"`
	// Remote is the sturdyref of a remote (proxy) service.
	Remote string `json:"remote,omitempty"`
	// RemoteError says why the exporter of a remote service cannot be
	// reached (its state is then unreachable).
	RemoteError string `json:"remote_error,omitempty"`
	// Instances lists the instances of a service with `instances`.
	Instances []Instance `json:"instances,omitempty"`
	// DeclaredInstances is set when a group runs another number of
	// instances than its file says (herd scale): the file's number. The
	// scale holds across reloads and restarts of the daemon until the
	// file says another number.
	DeclaredInstances int `json:"declared_instances,omitempty"`
	// Members are the remote services a service requires (a fleet), with
	// their mirrored states.
	Members []Instance `json:"members,omitempty"`
	// Ready is how the service says it is ready (notify, fd, tcp, http,
	// exec), if it does. StatusText is its sd_notify STATUS=; Reloading
	// and SelfStopping its RELOADING=1 (until READY=1) and STOPPING=1.
	// NotifyRefused and NotifyMalformed count the datagrams its notify
	// socket refused (not from its processes) and ignored (malformed).
	Ready           string `json:"ready,omitempty"`
	StatusText      string `json:"status_text,omitempty"`
	Reloading       bool   `json:"reloading,omitempty"`
	SelfStopping    bool   `json:"self_stopping,omitempty"`
	NotifyRefused   uint64 `json:"notify_refused,omitempty"`
	NotifyMalformed uint64 `json:"notify_malformed,omitempty"`
	// Activation describes the sockets of a service with `listen`.
	Activation *Activation `json:"activation,omitempty"`
	// Cgroup is the service's cgroup and what is in it, when the daemon
	// runs services in cgroups.
	Cgroup *CgroupInfo `json:"cgroup,omitempty"`
}

// DisabledInfo is why a service is disabled, in `herd status NAME`.
type DisabledInfo struct {
	Since time.Time `json:"since,omitzero"`
	// By is DisabledByUser or DisabledByRespawnLimit.
	By string `json:"by"`
	// Who asked, for DisabledByUser ("uid 1000").
	Who string `json:"who,omitempty"`
	// Reason is the respawn limit's ("respawn limit hit: 5 respawns
	// within 7s").
	Reason string `json:"reason,omitempty"`
}

// What disabled a service (DisabledInfo.By).
const (
	DisabledByUser         = "herd-disable"
	DisabledByRespawnLimit = "respawn-limit"
)

// CgroupInfo is a service's cgroup in `herd status NAME`.
type CgroupInfo struct {
	// Path is the cgroup (v2) directory, the service's identity on disk.
	Path string `json:"path"`
	// Tasks counts its processes; CPU is their CPU time, those gone
	// included; Memory their memory in bytes, where a memory controller
	// counts it.
	Tasks  int      `json:"tasks"`
	CPU    Duration `json:"cpu"`
	Memory *int64   `json:"memory,omitempty"`
	// PidsMax and MemoryMax are the service's limits (0: none).
	PidsMax   int64 `json:"pids_max,omitempty"`
	MemoryMax int64 `json:"memory_max,omitempty"`
}

// Instance is one instance of a group service.
type Instance struct {
	Name  string `json:"name"`
	State string `json:"state"`
	PID   int    `json:"pid,omitempty"`
}

// DaemonInfo describes the daemon itself, in `herd status shepherd`.
type DaemonInfo struct {
	Version       string         `json:"version"`
	StartedAt     time.Time      `json:"started_at,omitzero"`
	ConfigPath    string         `json:"config_path,omitempty"`
	Socket        string         `json:"socket"`
	StateDir      string         `json:"state_dir"`
	PID1          bool           `json:"pid1,omitempty"`
	ByState       map[string]int `json:"services_by_state"`
	OrphansReaped int            `json:"orphans_reaped"`
	Reexecs       int            `json:"reexecs"`
	PeerID        string         `json:"peer_id,omitempty"`
	Listen        []string       `json:"listen,omitempty"`
	History       HistoryHealth  `json:"history"`
	// Cgroups says how services are tracked: "cgroup v2 at DIR (...)",
	// or "none (why): ..." and the fallback.
	Cgroups string `json:"cgroups,omitempty"`
}

// HistoryHealth says whether the daemon's history can be written. When
// it cannot (its filesystem is full, the store failed), the daemon goes
// on supervising; events are held in memory (Held) and written once it
// can, beyond a bound they are dropped (Dropped), and replies no longer
// wait for their events to be durable.
type HistoryHealth struct {
	Degraded bool      `json:"degraded"`
	Since    time.Time `json:"since,omitzero"`
	Reason   string    `json:"reason,omitempty"`
	Held     int       `json:"held"`
	Dropped  int       `json:"dropped"`
}

// UpgradeResult answers `upgrade`, just before the daemon executes its
// binary again: the connection then closes, and the same PID answers
// again once the new binary has taken over.
type UpgradeResult struct {
	PID     int `json:"pid"`
	Reexecs int `json:"reexecs"`
}

// ExecResult answers `exec`: how a command run by an exec capability
// ended. ExitCode is -1 when it was killed (Signal) or timed out.
type ExecResult struct {
	Command  []string `json:"command"`
	Output   string   `json:"output"`
	ExitCode int      `json:"exit_code"`
	Signal   string   `json:"signal,omitempty"`
	TimedOut bool     `json:"timed_out,omitempty"`
	Duration Duration `json:"duration"`
}

// FleetRun is one `herd fleet exec`, kept by the daemon for `herd fleet
// history/show/diff/export`.
type FleetRun struct {
	ID       int               `json:"id"`
	Time     time.Time         `json:"time"`
	Command  []string          `json:"command"`
	Selector string            `json:"selector,omitempty"`
	Summary  string            `json:"summary"`
	Results  []FleetHostResult `json:"results,omitempty"`
	// Watch marks a round of herd fleet watch, and Changed are the hosts
	// whose answer differs from the round before: a round with a change
	// is an event of its own (result changed), for notifications.
	Watch   bool     `json:"watch,omitempty"`
	Changed []string `json:"changed,omitempty"`
}

// FleetHostResult is how the command ended on one host.
type FleetHostResult struct {
	Host     string  `json:"host"`
	Output   string  `json:"output"`
	ExitCode int     `json:"exit_code"`
	Kind     string  `json:"kind,omitempty"`
	Err      string  `json:"error,omitempty"`
	Duration float64 `json:"duration"`
}

// FleetRuns answers `fleet-runs`: every run, without their results.
type FleetRuns struct {
	Runs []FleetRun `json:"runs"`
}

// NetID answers `id`: the daemon's name on the network and where it
// listens.
type NetID struct {
	PeerID string   `json:"peer_id"`
	Listen []string `json:"listen"`
	Socket string   `json:"socket"`
}

// Peers answers `peers`: the daemon's libp2p connections.
type Peers struct {
	Peers []Peer `json:"peers"`
}

// Peer is one connected daemon.
type Peer struct {
	ID      string   `json:"id"`
	Addrs   []string `json:"addrs"`
	Latency Duration `json:"latency"`
	Streams int      `json:"streams"`
}

// RootService and RootAlias name the daemon itself.
const (
	RootService = "shepherd"
	RootAlias   = "root"
)

// LogEntry is one line of `herd log`: a lifecycle transition or, with a
// service and -n, one line of the service's own output. An output line
// has no Time (it is omitted): its text begins with the logger's
// timestamp.
type LogEntry struct {
	Time    time.Time `json:"time,omitzero"`
	Service string    `json:"service"`
	Text    string    `json:"text"`
}

// LogResult is the result of `log`.
type LogResult struct {
	Entries []LogEntry `json:"entries"`
}

// Doc is the result of `doc`.
type Doc struct {
	Service       string      `json:"service"`
	Documentation string      `json:"documentation,omitempty"`
	Actions       []ActionDoc `json:"actions,omitempty"`
}

// ActionDoc documents a custom action.
type ActionDoc struct {
	Name          string         `json:"name"`
	Documentation string         `json:"documentation,omitempty"`
	Command       []string       `json:"command,omitempty"`
	Args          []ActionArgDoc `json:"args,omitempty"`
}

// ActionArgDoc is one declared argument of a custom action.
type ActionArgDoc struct {
	Name          string `json:"name"`
	Pattern       string `json:"pattern"`
	Documentation string `json:"documentation,omitempty"`
}

// GraphNode and GraphEdge describe the dependency graph for `herd graph`.
type GraphNode struct {
	Name    string `json:"name"`
	State   string `json:"state"`
	OneShot bool   `json:"one_shot,omitempty"`
	Failing bool   `json:"failing,omitempty"`
}

// Graph is the result of `graph`. Edges go from dependent to requirement.
type Graph struct {
	Nodes []GraphNode `json:"nodes"`
	Edges [][2]string `json:"edges"`
}

// ReloadResult is the result of `reload`.
type ReloadResult struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`
	// Sections are the configuration's sections beside the services
	// (notify, jobs, monitors, collect) that changed and were applied
	// again; the others were not touched.
	Sections []string `json:"sections"`
}

// LoadResult is the result of `load`.
type LoadResult struct {
	Loaded []string `json:"loaded"`
}

// Duration is a time.Duration that travels as a Go duration string.
type Duration time.Duration

// MarshalJSON encodes the duration as "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON decodes a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Event is one entry of the daemon's history (herd history, herd events),
// as the history store keeps it.
type Event struct {
	Seq      uint64        `json:"seq"`
	Time     time.Time     `json:"time"`
	Service  string        `json:"service,omitempty"`
	Kind     string        `json:"kind"`
	State    string        `json:"state,omitempty"`
	PID      int           `json:"pid,omitempty"`
	Command  []string      `json:"command,omitempty"`
	ExitCode *int          `json:"exit_code,omitempty"`
	Signal   string        `json:"signal,omitempty"`
	Runtime  time.Duration `json:"runtime_ns,omitempty"`
	MaxRSS   int64         `json:"max_rss_kb,omitempty"`
	CPU      time.Duration `json:"cpu_ns,omitempty"`
	Who      string        `json:"who,omitempty"`
	Action   string        `json:"action,omitempty"`
	Result   string        `json:"result,omitempty"`
	Message  string        `json:"message,omitempty"`
	// Job and Outcome: a tracked job's event (kind job): ok, failed, late.
	Job     string `json:"job,omitempty"`
	Outcome string `json:"outcome,omitempty"`
}

// Events is the result of `history` and `events` (and each frame of
// `events --follow`).
type Events struct {
	Events []Event `json:"events"`
}

// CapInfo describes one capability (cap grant, attenuate, revoke, list).
type CapInfo struct {
	Ref     string    `json:"ref"`
	Target  string    `json:"target"`
	Actions []string  `json:"actions,omitempty"`
	Holder  string    `json:"holder,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
	Allow   []string  `json:"allow,omitempty"`
	// Args are the argument patterns per custom action (--arg).
	Args map[string][]string `json:"args,omitempty"`
	// Paths and MaxSize are a file capability's path patterns and size
	// limit in bytes (0: the default, 64 MiB).
	Paths   []string  `json:"paths,omitempty"`
	MaxSize int64     `json:"max_size,omitempty"`
	Revoked bool      `json:"revoked,omitempty"`
	Expired bool      `json:"expired,omitempty"`
	Created time.Time `json:"created,omitzero"`
	// Derived counts the capabilities attenuated from this one.
	Derived int `json:"derived,omitempty"`
}

// CapArgs are the options of the cap-* requests, sent as their one
// argument (a JSON object).
type CapArgs struct {
	Service string              `json:"service,omitempty"`
	Ref     string              `json:"ref,omitempty"`
	Actions []string            `json:"actions,omitempty"`
	User    string              `json:"user,omitempty"`
	Expires string              `json:"expires,omitempty"`
	Allow   []string            `json:"allow,omitempty"`
	Peer    string              `json:"peer,omitempty"`
	Args    map[string][]string `json:"args,omitempty"`
	// HTTP binds the grant to the daemon's HTTP API (`--to-http`): only a
	// client of `shepherd --http` can use it. On the daemon itself
	// (Admin), without actions, it is the admin capability of the HTTP API.
	HTTP bool `json:"http,omitempty"`
	// Paths and MaxSize: file capabilities (target files).
	Paths   []string `json:"paths,omitempty"`
	MaxSize int64    `json:"max_size,omitempty"`
}

// Admin reports whether a grant asks for the HTTP API's admin
// capability: `herd cap grant daemon --to-http`, without --actions.
func (a CapArgs) Admin() bool {
	return a.HTTP && len(a.Actions) == 0 && (a.Service == "daemon" || a.Service == RootService || a.Service == RootAlias)
}

// CapList is the result of `cap-list`.
type CapList struct {
	Caps []CapInfo `json:"caps"`
}

// SpawnArgs are the options of `spawn`, sent as its one argument (a JSON
// object): run Command as a transient service, named Name (empty: the
// daemon picks transient-N), as User (empty: the daemon's user),
// respawned when it exits if Respawn. With Wait the reply streams the
// command's output (LogResult frames, More set) and ends with a
// SpawnResult saying how it ended.
type SpawnArgs struct {
	Name    string   `json:"name,omitempty"`
	User    string   `json:"user,omitempty"`
	Respawn bool     `json:"respawn,omitempty"`
	Wait    bool     `json:"wait,omitempty"`
	Command []string `json:"command"`
	// At, for `schedule` (timers.go): the transient runs once then.
	At time.Time `json:"at,omitzero"`
}

// SpawnResult answers `spawn`: the transient service made and, with
// Wait, how its process ended (Exit: nil when it never ran). Status is
// the exit status a shell would give: the code, or 128 + the signal's
// number.
type SpawnResult struct {
	Service string    `json:"service"`
	Outcome Outcome   `json:"outcome"`
	PID     int       `json:"pid,omitempty"`
	Exit    *ExitInfo `json:"exit,omitempty"`
	Status  int       `json:"status"`
	// OutputDropped: the command wrote faster than the client read, and
	// lines were left out of the stream (the service's log file has
	// them).
	OutputDropped bool `json:"output_dropped,omitempty"`
}
