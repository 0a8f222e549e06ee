package services

import (
	"fmt"
	"slices"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// What the lifecycle machine (services/lifecycle) needs to know of a
// Spec: kept beside the Spec, so that a new key and what it means to the
// machine change together.

// Policy is what the machine needs to know of a Spec.
type Policy struct {
	Name     string
	Requires []string
	// Wants and After: services to start too, without waiting or
	// failing with them, and services to wait for if they are starting
	// (services/lifecycle/order.go). Conflicts come with SetConflicts.
	Wants, After []string
	HasProcess   bool
	OneShot      bool
	Respawn      bool
	// RespawnOnFailure: an exit with a success status is not respawned;
	// ExitCodes are the success statuses beside code 0 (services/lifecycle/exitcodes.go).
	RespawnOnFailure bool
	ExitCodes        ExitCodes
	RespawnLimit     RespawnLimit
	RespawnDelay     time.Duration
	RespawnBackoff   bool
	RespawnMaxDelay  time.Duration
	RespawnCooldown  time.Duration
	StopSignal       syscall.Signal
	StopTimeout      time.Duration
	// KillWait is how long after the SIGKILL of a stop the machine waits
	// for the exit; then the stop ends without it (Disown).
	KillWait time.Duration
	// PIDFile says the program daemonizes and names its process in a PID
	// file, which must appear within PIDFileTimeout.
	PIDFile        bool
	PIDFileTimeout time.Duration
	// Ready is the readiness policy (services/lifecycle/ready.go).
	Ready ReadyPolicy
	// Activation is how the service's sockets are used (services/lifecycle/activation.go).
	Activation Activation
	// Cgroup says the service runs in a cgroup of its own (the runtime
	// sets it, not PolicyOf): stops and respawns kill the cgroup and wait
	// for it to be empty (services/lifecycle/cgroup.go).
	Cgroup bool
}

// PolicyOf extracts the machine's policy from a spec.
func PolicyOf(s *Spec) Policy {
	return Policy{
		Name:             s.Name,
		Requires:         slices.Clone(s.Requires),
		Wants:            slices.Clone(s.Wants),
		After:            slices.Clone(s.After),
		HasProcess:       len(s.Command) > 0,
		OneShot:          s.OneShot,
		Respawn:          s.Respawn,
		RespawnOnFailure: s.RespawnOnFailure,
		ExitCodes:        s.ExitCodes,
		RespawnLimit:     s.RespawnLimit,
		RespawnDelay:     s.RespawnDelay,
		RespawnBackoff:   s.RespawnBackoff,
		RespawnMaxDelay:  s.RespawnMaxDelay,
		RespawnCooldown:  s.RespawnCooldown,
		StopSignal:       s.StopSignal,
		StopTimeout:      s.StopTimeout,
		KillWait:         KillWait,
		PIDFile:          s.PIDFile != "",
		PIDFileTimeout:   s.PIDFileTimeout,
		Ready:            ReadyPolicyOf(s),
		Activation:       s.Activation,
	}
}

// ReadyPolicy is what the machine needs to know of the readiness keys.
type ReadyPolicy struct {
	// Await: the service has a `ready:` key; it is running once it said
	// (or a probe found) that it is ready.
	Await bool
	// Notify: readiness is sd_notify's; the watchdog needs it.
	Notify bool
	// MinUptime: a process that ends sooner failed to start; the service
	// is running only once it has run this long (and is ready).
	MinUptime time.Duration
	// StartTimeout bounds the wait for readiness (0: no bound).
	StartTimeout time.Duration
	// Watchdog: once running, a WATCHDOG=1 must come at least this often,
	// or the process is killed (and respawned, as any crash).
	Watchdog time.Duration
}

// Phased says whether a start goes through the readiness phase.
func (p ReadyPolicy) Phased() bool { return p.Await || p.MinUptime > 0 }

// ReadyPolicyOf extracts the readiness policy from a spec.
func ReadyPolicyOf(s *Spec) ReadyPolicy {
	p := ReadyPolicy{Await: s.Ready.Kind() != "", Notify: s.Ready != nil && s.Ready.Notify, MinUptime: s.MinUptime, Watchdog: s.Watchdog}
	if p.Await {
		p.StartTimeout = s.StartTimeout
	}
	return p
}

// KillWait bounds the wait for a process's exit after the SIGKILL of a
// stop. A process outlives SIGKILL in uninterruptible sleep (a hung NFS
// or FUSE server), or looks as if it did when its exit cannot reach the
// daemon (a ptraced process whose tracer does not collect it); a stop,
// and the daemon's shutdown, must end all the same.
const KillWait = 5 * time.Second

// SignalName returns "SIGTERM" for syscall.SIGTERM, or "signal N".
func SignalName(s syscall.Signal) string {
	if name := unix.SignalName(s); name != "" {
		return name
	}
	return fmt.Sprintf("signal %d", int(s))
}
