package services

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Spec is one service definition, as read from the configuration. The zero
// value of every optional field means "the default"; Load fills defaults in
// so that consumers never have to.
type Spec struct {
	// Name is the canonical name, unique across all services.
	Name string
	// Provides lists aliases, also unique across names and aliases.
	Provides []string
	// Requires lists the names (or aliases) of services started first.
	Requires []string
	// After, Wants and Conflicts are softer relations (order.go): start
	// after these if they are starting; start these too, without failing
	// with them; stop these first, and be stopped by their start.
	After         []string `json:",omitempty"`
	Wants         []string `json:",omitempty"`
	Conflicts     []string `json:",omitempty"`
	Documentation string

	// Command is the argv of the process. Empty means a milestone: start and
	// stop always succeed without a process.
	Command     []string
	Environment map[string]string
	// EnvironmentFiles are read at each start (envfile.go); Environment
	// overrides what they set.
	EnvironmentFiles []EnvironmentFile `json:",omitempty"`
	Directory        string

	// Respawn says whether an unexpected exit restarts the process.
	// Default: true for commands, false for one-shot services.
	Respawn bool
	// RespawnOnFailure (`respawn: on-failure`, with Respawn): an exit
	// with a success status (ExitCodes) is not respawned, as systemd's
	// Restart=on-failure and supervisord's autorestart=unexpected.
	RespawnOnFailure bool `json:",omitempty"`
	// ExitCodes are the exit statuses that count as success beside 0
	// (exitcodes.go): a one-shot's, a main process's after a stop.
	ExitCodes    ExitCodes `json:",omitzero"`
	RespawnLimit RespawnLimit
	// RespawnDelay is waited before a respawn. Default 100ms.
	RespawnDelay time.Duration
	// RespawnBackoff doubles the delay on each consecutive respawn, up to
	// RespawnMaxDelay; a run that lasts at least RespawnMaxDelay resets it.
	RespawnBackoff  bool
	RespawnMaxDelay time.Duration // default 30s
	// RespawnCooldown, when non-zero, retries a service that hit its
	// respawn limit once the cool-down has passed, with a fresh budget.
	RespawnCooldown time.Duration

	// StopSignal is sent to the process group on stop. Default SIGTERM.
	StopSignal syscall.Signal
	// StopTimeout is waited after StopSignal before SIGKILL. Default 5s.
	StopTimeout time.Duration

	OneShot   bool
	AutoStart bool // default true
	// StopLeftovers (`leftovers: stop`): the processes a previous daemon
	// left running of this service, when it ended without stopping
	// them, are stopped and the service started anew, rather than
	// adopted (see services/adoption).
	StopLeftovers bool

	// LogFile receives the timestamped output. Default <state>/logs/NAME.log.
	LogFile string
	// StderrLogFile, when set, receives the process's stderr instead of
	// LogFile (which keeps stdout), rotated alike.
	StderrLogFile string `json:",omitempty"`
	// Log says whether lines go to the files, the system log or both
	// (logtarget.go).
	Log LogTarget `json:",omitempty"`
	// PIDFile, for programs that daemonize, is where the program writes
	// its PID; the start succeeds once it names a live process, which then
	// is the main process. PIDFileTimeout (default 5s) bounds the wait.
	PIDFile        string
	PIDFileTimeout time.Duration

	// LogRotate, when Size > 0, rotates the log file past Size bytes,
	// keeping Keep old files (NAME.log.1 the newest).
	LogRotate LogRotate

	Actions []Action

	// Process attributes (design §3, §5). Credentials is nil to keep the
	// daemon's user; the others are nil or empty to inherit.
	Credentials *Credentials
	Umask       *uint32
	Limits      []Limit
	Nice        *int
	// IOClass is 0 (inherit), 1 realtime, 2 best-effort or 3 idle, with
	// IOPriority 0 (highest) to 7.
	IOClass    int
	IOPriority int

	// Cgroup are the limits of the service's cgroup (memory-max,
	// pids-max, ...; cgroup.go).
	Cgroup CgroupLimits

	// Instances, when set, runs that many copies NAME.1 .. NAME.N, each a
	// service of its own (own process, exit status, respawn budget); NAME
	// then names the group. `herd scale NAME N` changes it at run time.
	Instances int

	// Hooks run on events: "on-exit", "on-failure", "on-respawn-limit".
	Hooks map[string]Hook

	// Remote is a sturdyref for a service exported by another daemon.
	Remote string

	// Ready, when set, is how the service says it is ready; until then it
	// is starting (ready.go). MinUptime: a process that ends sooner failed
	// to start. StartTimeout (default 90s with Ready) bounds the wait for
	// readiness. Watchdog, with sd_notify readiness: the longest time
	// between two WATCHDOG=1 before the process is killed.
	Ready        *Readiness
	MinUptime    time.Duration
	StartTimeout time.Duration
	Watchdog     time.Duration
	// Listen are the sockets the daemon binds for the service, and
	// Activation how the service gets them (listen.go).
	Listen     []Endpoint `json:",omitempty"`
	Activation Activation `json:",omitzero"`

	// Transient: `herd spawn` made the service, which the daemon removes
	// once it stops (transient.go).
	Transient bool `json:",omitempty"`

	// Timer, when set, makes this a timer service (timer.go): a
	// one-shot that runs each time its timer fires.
	Timer *Timer `json:",omitempty"`

	// Pos is where the service was defined, for messages.
	Pos Pos
}

// RespawnLimit bounds respawns: more than Count within Window fails the
// service. Unlimited disables the bound.
type RespawnLimit struct {
	Count     int
	Window    time.Duration
	Unlimited bool
}

// DefaultRespawnLimit is GNU Shepherd's: 5 respawns within 7 seconds.
var DefaultRespawnLimit = RespawnLimit{Count: 5, Window: 7 * time.Second}

// Action is a custom action: `herd NAME SERVICE ARG...` runs Command, in
// which "$MAINPID" is replaced by the service's main PID, followed by the
// arguments. An action takes exactly the arguments Args declares, each
// matching its pattern; without Args it takes none.
type Action struct {
	Name          string
	Command       []string
	Documentation string
	Args          []ActionArg
}

// ActionArg is one declared argument of a custom action.
type ActionArg struct {
	Name string
	// Pattern is a regular expression the whole argument must match.
	Pattern       string
	Documentation string
}

// Compile compiles the pattern so that it matches whole arguments only.
func (a ActionArg) Compile() (*regexp.Regexp, error) {
	return regexp.Compile(`\A(?:` + a.Pattern + `)\z`)
}

// CheckArgs says whether args are what the action declares: as many as
// declared, each matching its pattern. The error says what is expected.
func (a Action) CheckArgs(args []string) error {
	names := make([]string, len(a.Args))
	for i, d := range a.Args {
		names[i] = strings.ToUpper(d.Name)
	}
	usage := a.Name
	if len(names) > 0 {
		usage += " " + strings.Join(names, " ")
	}
	if len(args) != len(a.Args) {
		if len(a.Args) == 0 {
			return fmt.Errorf("action %s takes no arguments", a.Name)
		}
		return fmt.Errorf("action %s takes %d argument(s): %s", a.Name, len(a.Args), usage)
	}
	for i, d := range a.Args {
		re, err := d.Compile()
		if err != nil || !re.MatchString(args[i]) {
			return fmt.Errorf("action %s: argument %s %q does not match %s", a.Name, strings.ToUpper(d.Name), args[i], d.Pattern)
		}
	}
	return nil
}

// LogRotate is size-based log rotation.
type LogRotate struct {
	Size int64
	Keep int
}

// Credentials is who a service's process runs as.
type Credentials struct {
	User   Account
	GID    uint32   // the group: the user's primary group unless `group` says
	Groups []uint32 // supplementary groups
}

// Limit is one resource limit (setrlimit) of a service's process.
type Limit struct {
	Name       string // nofile, nproc, core, ...
	Resource   int
	Soft, Hard uint64
}

// NeedsTrampoline reports whether the process needs settings that
// fork/exec cannot apply by itself (umask, limits, nice, I/O priority).
func (s *Spec) NeedsTrampoline() bool {
	return s.Umask != nil || len(s.Limits) > 0 || s.Nice != nil || s.IOClass != 0
}

// Hook is a command to run, or a URL to POST JSON to, when an event
// happens. It never delays the service: it runs on its own and is killed
// (or abandoned) after Timeout.
type Hook struct {
	Command []string
	URL     string
	Timeout time.Duration // default 10s
}

// HookEvents are the events a hook can be attached to.
var HookEvents = []string{"on-exit", "on-failure", "on-respawn-limit"}

// Instance returns the definition of instance i (1-based) of a group,
// which knows its number (instances.go).
func (s *Spec) Instance(i int) *Spec {
	c := *s
	c.Name = fmt.Sprintf("%s.%d", s.Name, i)
	c.Provides, c.Instances, c.AutoStart = nil, 0, false
	if s.LogFile != "" {
		c.LogFile = fmt.Sprintf("%s.%d", s.LogFile, i)
	}
	if s.StderrLogFile != "" {
		c.StderrLogFile = fmt.Sprintf("%s.%d", s.StderrLogFile, i)
	}
	c.instantiate(i)
	return &c
}

// Milestone reports whether the service has no process.
func (s *Spec) Milestone() bool { return len(s.Command) == 0 && s.Remote == "" }

// Pos is a position in a configuration file.
type Pos struct {
	File string
	Line int
	Col  int
}
