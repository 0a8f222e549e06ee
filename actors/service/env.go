package service

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/activation"
	"github.com/shepherd-go/shepherd/internal/cgroup"
)

// Env is what the per-service actors need of the daemon.
type Env struct {
	// Go runs f on an accounted goroutine; Logf writes to the daemon log.
	Go   func(f func())
	Logf func(format string, args ...any)
	// Life ends when the daemon stops (before it waits for the
	// goroutines started with Go): every wait in those selects on it, or
	// on a context made from it (Context), so that none can hold up the
	// daemon's end. Nil: never.
	Life context.Context
	// Monitor starts processes, Historian records events, Registry hears
	// of every change of state (SummaryUpdate) and is the parent of every
	// controller (ControllerPID).
	Monitor, Historian, Registry *actor.PID
	// History reads past events (a service's recent respawns).
	History interface {
		Scan(history.Query) ([]history.Event, error)
	}
	// BaseEnv starts every process's environment (proc.BaseEnvironment).
	BaseEnv map[string]string
	// UID is the daemon's user.
	UID int
	// Send sends from outside an actor (the actor system's root).
	Send func(pid *actor.PID, msg any)
	// NotifyDir holds the sd_notify sockets of the services with
	// `ready: notify` (internal/notify); empty: such services fail to
	// start, saying so.
	NotifyDir string
	// Poller says when a client waits on a socket-activated service's
	// socket (services with `listen` need it).
	Poller *activation.Poller
	// Cgroups is the daemon's root cgroup; nil without cgroups (the
	// process group, the session and the subreaper stand in).
	Cgroups *cgroup.Tree
}

// Context is a context that ends after d, or when the daemon stops.
func (env Env) Context(d time.Duration) (context.Context, context.CancelFunc) {
	parent := env.Life
	if parent == nil {
		parent = context.Background()
	}
	return context.WithTimeout(parent, d)
}

// Ask sends msg, built around a fresh reply channel, to pid and waits for
// the answer or the context's end.
func Ask[T any](ctx context.Context, send func(*actor.PID, any), pid *actor.PID, build func(chan<- T) any) (T, error) {
	ch := make(chan T, 1)
	send(pid, build(ch))
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// ControllerPID is the address of a service's controller: the registry's
// child named after the service (so controllers reach each other with no
// lookup).
func ControllerPID(registry *actor.PID, name string) *actor.PID {
	return actor.NewPID(registry.Address, registry.Id+"/svc:"+name)
}
