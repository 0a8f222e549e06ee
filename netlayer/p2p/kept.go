package p2p

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/shepherd-go/shepherd/netlayer/local"
)

// Control streams are kept for the next call to the same peer once a
// call on them ended cleanly: a fleet run to 1000 hosts opened and
// closed a stream per host and run (a yamux open and close each way, the
// protocol's negotiation, and on the far side a connection accepted,
// identified and served by a goroutine pair), about a tenth of both
// sides' work for `true`. A kept stream is closed after keptIdle without
// a call, before the far side's idle timeout (local.Server's 30 s) can
// close it under a request just sent; at most keptPerPeer are kept for
// one peer.
const (
	keptIdle    = 20 * time.Second
	keptPerPeer = 4
	// keptWindow is what yamux counts against the host's memory for a
	// stream (its initial receive window): the host's memory limit grows
	// by that for each stream it may keep (Config.Conns at most).
	keptWindow = 256 << 10
	// maxDials bounds the connections Dial sets up at once.
	maxDials = 64
)

type kept struct {
	mu     sync.Mutex
	idle   map[peer.ID][]keptClient
	n, max int // streams kept in all, and the most kept
	closed bool
	stop   chan struct{}
	done   chan struct{}
}

type keptClient struct {
	c     *local.Client
	since time.Time
}

func newKept(max int) *kept {
	return &kept{max: max, idle: map[peer.ID][]keptClient{}, stop: make(chan struct{}), done: make(chan struct{})}
}

// take is a kept client of id, or nil.
func (k *kept) take(id peer.ID) *local.Client {
	k.mu.Lock()
	defer k.mu.Unlock()
	for cs := k.idle[id]; len(cs) > 0; cs = k.idle[id] {
		kc := cs[len(cs)-1]
		k.n--
		if len(cs) == 1 {
			delete(k.idle, id)
		} else {
			k.idle[id] = cs[:len(cs)-1]
		}
		if time.Since(kc.since) < keptIdle {
			kc.c.Reused()
			return kc.c
		}
		kc.c.CloseConn()
	}
	return nil
}

// put keeps c for id, or closes it.
func (k *kept) put(id peer.ID, c *local.Client) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed || len(k.idle[id]) >= keptPerPeer || k.n >= k.max {
		c.CloseConn()
		return
	}
	k.idle[id] = append(k.idle[id], keptClient{c, time.Now()})
	k.n++
}

// run closes the streams kept too long, every keptIdle/4, until stop.
func (k *kept) run() {
	defer close(k.done)
	t := time.NewTicker(keptIdle / 4)
	defer t.Stop()
	for {
		select {
		case <-k.stop:
			k.mu.Lock()
			k.closed, k.n = true, 0
			for id, cs := range k.idle {
				for _, kc := range cs {
					kc.c.CloseConn()
				}
				delete(k.idle, id)
			}
			k.mu.Unlock()
			return
		case <-t.C:
			k.mu.Lock()
			for id, cs := range k.idle {
				live := cs[:0]
				for _, kc := range cs {
					if time.Since(kc.since) < keptIdle {
						live = append(live, kc)
					} else {
						kc.c.CloseConn()
						k.n--
					}
				}
				if len(live) == 0 {
					delete(k.idle, id)
				} else {
					k.idle[id] = live
				}
			}
			k.mu.Unlock()
		}
	}
}

// Client is a control connection to peerID: a kept stream of an earlier
// call if there is one, else a new stream (Dial). Close it as any
// client; one whose last call ended cleanly is kept for the next.
func (h *Host) Client(ctx context.Context, peerID string, addrs []string) (*local.Client, error) {
	id, err := peer.Decode(peerID)
	if err == nil {
		if c := h.kept.take(id); c != nil {
			h.idle.touch(id)
			return c, nil
		}
	}
	conn, err := h.Dial(ctx, peerID, addrs)
	if err != nil {
		return nil, err
	}
	c := local.NewClient(conn)
	c.Keep(func(c *local.Client) { h.kept.put(id, c) }, func(ctx context.Context) (net.Conn, error) {
		return h.Dial(ctx, peerID, addrs)
	})
	return c, nil
}
