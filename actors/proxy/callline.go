package proxy

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// callLine is a proxy's connection for calls to its exporter, kept from
// one call to the next: a new libp2p stream per call (opened, negotiated,
// served by a new connection on the exporter and closed) was a fifth of
// what a fleet start cost each host. The line carries one call at a time;
// a call made while another is in flight (a status during a long start)
// gets a connection of its own, as every call used to.
type callLine struct {
	mu   sync.Mutex
	c    *local.Client // guarded by mu
	used time.Time     // guarded by mu
}

// callLineIdle is how long a line may rest before it is replaced:
// exporters close a connection that is silent for 30 s (local.Server).
const callLineIdle = 20 * time.Second

// call makes req on the line, dialing with dial when it has no
// connection. A request that could not be written on a kept connection
// (the exporter went away meanwhile) is sent once more on a new one; one
// that was written is never repeated.
func (l *callLine) call(ctx context.Context, dial func(context.Context) (*local.Client, error), req wire.Request) (wire.Reply, error) {
	if !l.mu.TryLock() {
		return callOnce(ctx, dial, req)
	}
	defer l.mu.Unlock()
	if l.c != nil && time.Since(l.used) > callLineIdle {
		l.dropLocked()
	}
	if l.c != nil {
		rep, err := l.c.Call(ctx, req)
		if err == nil {
			l.used = time.Now()
			return rep, nil
		}
		l.dropLocked()
		if !errors.Is(err, local.ErrNotSent) || ctx.Err() != nil {
			return rep, err
		}
	}
	return l.callFreshLocked(ctx, dial, req)
}

// callFreshLocked makes req on a new connection, kept if the call works.
func (l *callLine) callFreshLocked(ctx context.Context, dial func(context.Context) (*local.Client, error), req wire.Request) (wire.Reply, error) {
	c, err := dial(ctx)
	if err != nil {
		return wire.Reply{}, err
	}
	rep, err := c.Call(ctx, req)
	if err != nil {
		c.Close()
		return rep, err
	}
	l.c, l.used = c, time.Now()
	return rep, nil
}

// callOnce makes req on a connection of its own.
func callOnce(ctx context.Context, dial func(context.Context) (*local.Client, error), req wire.Request) (wire.Reply, error) {
	c, err := dial(ctx)
	if err != nil {
		return wire.Reply{}, err
	}
	defer c.Close()
	return c.Call(ctx, req)
}

// drop closes the line's connection, if any (the exporter is gone, or the
// proxy is).
func (l *callLine) drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dropLocked()
}

func (l *callLine) dropLocked() {
	if l.c != nil {
		l.c.Close()
		l.c = nil
	}
}
