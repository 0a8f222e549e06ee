package proc

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/shepherd-go/shepherd/services"
	"golang.org/x/sys/unix"
)

// TrampolineName is the argv[0] under which the daemon's own binary acts
// as the trampoline: it applies to itself what fork/exec cannot (resource
// limits, umask, nice, I/O priority, then the credentials, in that order
// so that raising limits or lowering niceness happens while still
// privileged) and execs the service's command.
const TrampolineName = "shepherd-exec"

// settingsEnv carries the settings to the trampoline; it is removed from
// the environment before the service's command runs.
const settingsEnv = "SHEPHERD_EXEC_SETTINGS"

// Settings are what the trampoline applies before it execs the command.
type Settings struct {
	Path       string           `json:"path"`
	Umask      *uint32          `json:"umask,omitempty"`
	Limits     []services.Limit `json:"limits,omitempty"`
	Nice       *int             `json:"nice,omitempty"`
	IOClass    int              `json:"io_class,omitempty"`
	IOPriority int              `json:"io_priority,omitempty"`
	Creds      *Creds           `json:"creds,omitempty"`
	// WatchdogPID sets WATCHDOG_PID to the process's own PID, which only
	// the process knows before its exec (sd_watchdog_enabled(3) checks it).
	WatchdogPID bool `json:"watchdog_pid,omitempty"`
	// ListenPID sets LISTEN_PID to the process's own PID, which only the
	// process knows (sd_listen_fds(3) ignores sockets passed to another).
	ListenPID bool `json:"listen_pid,omitempty"`
	// Cgroups are cgroup.procs files of cgroup v1 hierarchies that the
	// process enters first (a hybrid system's pids or memory controller,
	// which CLONE_INTO_CGROUP cannot reach): before it execs anything of
	// the service, and while it is still privileged.
	Cgroups []string `json:"cgroups,omitempty"`
}

// Creds is who a process runs as.
type Creds struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups"`
}

// RunTrampolineIfAsked turns this process into the trampoline when it was
// started as one, and never returns then. Call it first thing in main (and
// in TestMain of tests that start a daemon).
func RunTrampolineIfAsked() {
	if filepath.Base(os.Args[0]) != TrampolineName {
		return
	}
	if err := trampoline(os.Args[1:]); err != nil {
		// stderr is the service's log: the reason lands there.
		fmt.Fprintf(os.Stderr, "shepherd: cannot start %s: %v\n", strings.Join(os.Args[1:], " "), err)
		os.Exit(127)
	}
}

func trampoline(argv []string) error {
	// Nice and I/O priority belong to a thread on Linux, not to the
	// process, and execve keeps only the thread that calls it: the
	// goroutine must not move to another thread between setting them and
	// exec, or the command starts with nice 0 (process.txtar saw it once
	// under load).
	runtime.LockOSThread()
	var s Settings
	if err := json.Unmarshal([]byte(os.Getenv(settingsEnv)), &s); err != nil {
		return fmt.Errorf("bad settings: %w", err)
	}
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, settingsEnv+"=") && !(s.ListenPID && strings.HasPrefix(kv, "LISTEN_PID=")) {
			env = append(env, kv)
		}
	}
	if s.WatchdogPID {
		env = append(env, "WATCHDOG_PID="+strconv.Itoa(os.Getpid()))
	}
	if s.ListenPID {
		// execve keeps the PID: the command's process is this one.
		env = append(env, "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	}
	for _, procs := range s.Cgroups {
		// "0" is the writing process itself.
		if err := os.WriteFile(procs, []byte("0"), 0); err != nil {
			return fmt.Errorf("enter cgroup %s: %w", filepath.Dir(procs), err)
		}
	}
	for _, l := range s.Limits {
		if err := unix.Setrlimit(l.Resource, &unix.Rlimit{Cur: l.Soft, Max: l.Hard}); err != nil {
			return fmt.Errorf("limit %s: %w", l.Name, err)
		}
	}
	if s.Nice != nil {
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, *s.Nice); err != nil {
			return fmt.Errorf("nice %d: %w", *s.Nice, err)
		}
	}
	if s.IOClass != 0 {
		const ioprioWhoProcess, ioprioClassShift = 1, 13
		prio := s.IOClass<<ioprioClassShift | s.IOPriority
		if _, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(prio)); e != 0 {
			return fmt.Errorf("io priority: %w", e)
		}
	}
	if s.Umask != nil {
		unix.Umask(int(*s.Umask))
	}
	if c := s.Creds; c != nil {
		groups := make([]int, len(c.Groups))
		for i, g := range c.Groups {
			groups[i] = int(g)
		}
		if err := syscall.Setgroups(groups); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setgid(int(c.GID)); err != nil {
			return fmt.Errorf("setgid %d: %w", c.GID, err)
		}
		if err := syscall.Setuid(int(c.UID)); err != nil {
			return fmt.Errorf("setuid %d: %w", c.UID, err)
		}
	}
	return syscall.Exec(s.Path, argv, env)
}
