package p2p

import (
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// DefaultIdleAfter is how long a connection that carries no stream is
// kept: a fleet run to many hosts reuses its connections for the next
// run, and does not keep them for the life of the daemon.
const DefaultIdleAfter = 2 * time.Minute

// idle closes the connections to peers that have carried no stream for
// after: those of a fleet run that ended. A peer with an open stream (a
// proxy's event stream, a follow) is never idle. used is when this host
// last dialed each peer or saw a stream to it open (every after/4).
type idle struct {
	after time.Duration
	mu    sync.Mutex
	used  map[peer.ID]time.Time
	stop  chan struct{}
	done  chan struct{}
}

func newIdle(after time.Duration) *idle {
	return &idle{after: after, used: map[peer.ID]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
}

func (i *idle) touch(id peer.ID) {
	i.mu.Lock()
	i.used[id] = time.Now()
	i.mu.Unlock()
}

// run looks for idle peers every after/4 until stop.
func (i *idle) run(n network.Network) {
	defer close(i.done)
	t := time.NewTicker(i.after / 4)
	defer t.Stop()
	for {
		select {
		case <-i.stop:
			return
		case now := <-t.C:
			for _, id := range i.sweep(n, now) {
				n.ClosePeer(id)
			}
		}
	}
}

// sweep returns the peers to close at now and forgets the peers gone.
func (i *idle) sweep(n network.Network, now time.Time) []peer.ID {
	var out []peer.ID
	i.mu.Lock()
	defer i.mu.Unlock()
	for id := range i.used {
		if n.Connectedness(id) != network.Connected {
			delete(i.used, id)
		}
	}
	for _, id := range n.Peers() {
		busy := false
		for _, c := range n.ConnsToPeer(id) {
			busy = busy || len(c.GetStreams()) > 0
		}
		last, seen := i.used[id]
		if !seen || busy {
			i.used[id] = now
			continue
		}
		if now.Sub(last) >= i.after {
			out = append(out, id)
			delete(i.used, id)
		}
	}
	return out
}
