package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Mux is one connection to a daemon carrying many requests at once: the
// daemon serves every request of a connection in a goroutine of its own
// and tags each reply with its request's ID (docs/protocol.md), so a
// fleet run sends all its hosts' requests on one connection, whatever
// its fan-out, instead of a connection per host (a connect, an accept, a
// goroutine pair and a close on both sides each time; and an
// unprivileged caller may hold only DefaultMaxConnsPerPeer connections).
//
// A request whose context ends is forgotten here (its late replies are
// dropped) and cancelled at the daemon with a cancel frame, so a host a
// fleet run gave up on is not worked on until the daemon's own deadline;
// closing the Mux cancels everything in flight. The connection
// is made on the first call, and made again when it broke or sat idle
// for muxIdle (before the daemon's idle timeout can close it under a
// request just sent).
type Mux struct {
	socket string

	mu   sync.Mutex
	cur  *muxConn
	next uint64
}

// muxIdle is how long an idle connection is kept: less than the
// daemon's IdleTimeout (30 s by default).
const muxIdle = 20 * time.Second

// muxWriteTimeout bounds writing one request (a daemon that reads
// nothing must not hold its callers forever).
const muxWriteTimeout = 10 * time.Second

// NewMux returns a Mux on the daemon's socket; it dials nothing yet.
func NewMux(socket string) *Mux { return &Mux{socket: socket} }

type muxConn struct {
	c   net.Conn
	wmu sync.Mutex // one request written at a time

	mu       sync.Mutex
	waiting  map[uint64]*muxCall
	err      error     // why the connection ended; set once
	lastUsed time.Time // when the last request ended (or was sent)
}

type muxCall struct {
	replies chan wire.Reply
	gone    chan struct{} // closed when the caller stops waiting
}

// Close closes the connection: the daemon cancels what is in flight.
func (m *Mux) Close() error {
	m.mu.Lock()
	c := m.cur
	m.cur = nil
	m.mu.Unlock()
	if c != nil {
		return c.c.Close()
	}
	return nil
}

// conn is the live connection, dialled if need be.
func (m *Mux) conn(ctx context.Context) (*muxConn, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	if c := m.cur; c != nil {
		c.mu.Lock()
		stale := c.err != nil || (len(c.waiting) == 0 && time.Since(c.lastUsed) > muxIdle)
		c.mu.Unlock()
		if !stale {
			return c, m.next, nil
		}
		c.c.Close()
		m.cur = nil
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", m.socket)
	if err != nil {
		return nil, 0, &DialError{Path: m.socket, Err: err}
	}
	c := &muxConn{c: nc, waiting: map[uint64]*muxCall{}, lastUsed: time.Now()}
	go c.read()
	m.cur = c
	return c, m.next, nil
}

// read hands every reply to the request it answers, until the
// connection ends; then every request still waiting hears why.
func (c *muxConn) read() {
	dec := wire.NewDecoder(c.c)
	var farewell *wire.Error // an error frame with ID 0: why the daemon closes
	var err error
	for {
		var frame []byte
		if frame, err = dec.Next(); err != nil {
			break
		}
		var r wire.Reply
		if err = json.Unmarshal(frame, &r); err != nil {
			err = fmt.Errorf("malformed reply from daemon: %w", err)
			break
		}
		validReply(&r)
		if r.ID == 0 {
			farewell = r.Error
			continue
		}
		c.mu.Lock()
		call := c.waiting[r.ID]
		c.mu.Unlock()
		if call == nil {
			continue // a request its caller gave up on
		}
		select {
		case call.replies <- r:
		case <-call.gone:
		}
	}
	if farewell != nil {
		err = farewell
	}
	c.c.Close()
	c.mu.Lock()
	c.err = fmt.Errorf("read reply: %w", err)
	calls := c.waiting
	c.waiting = map[uint64]*muxCall{}
	c.mu.Unlock()
	for _, call := range calls {
		close(call.replies)
	}
}

// Call sends req and returns its reply, put back together if the daemon
// sent it in parts; like Client.Call, a reply that is an error is the
// reply (OK false), err is for transport failures. A request that could
// not be sent on a connection that had broken is sent once more on a
// new one.
func (m *Mux) Call(ctx context.Context, req wire.Request) (wire.Reply, error) {
	for attempt := 0; ; attempt++ {
		r, err := m.call(ctx, req)
		if err != nil && errors.Is(err, ErrNotSent) && attempt == 0 && ctx.Err() == nil {
			continue
		}
		return r, err
	}
}

func (m *Mux) call(ctx context.Context, req wire.Request) (wire.Reply, error) {
	c, id, err := m.conn(ctx)
	if err != nil {
		return wire.Reply{}, err
	}
	req.ID = id
	call := &muxCall{replies: make(chan wire.Reply, 4), gone: make(chan struct{})}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return wire.Reply{}, fmt.Errorf("send request: %w: %w", ErrNotSent, c.err)
	}
	c.waiting[id] = call
	c.lastUsed = time.Now()
	c.mu.Unlock()
	defer func() {
		close(call.gone)
		c.mu.Lock()
		delete(c.waiting, id)
		c.lastUsed = time.Now()
		c.mu.Unlock()
	}()
	c.wmu.Lock()
	c.c.SetWriteDeadline(time.Now().Add(muxWriteTimeout))
	err = wire.Encode(c.c, req)
	c.wmu.Unlock()
	if err != nil {
		// A part of a frame may have gone: the connection is no use.
		c.c.Close()
		return wire.Reply{}, fmt.Errorf("send request: %w: %w", ErrNotSent, err)
	}
	var parts *wire.Assembler
	for {
		select {
		case r, ok := <-call.replies:
			if !ok {
				c.mu.Lock()
				err := c.err
				c.mu.Unlock()
				return wire.Reply{}, err
			}
			if r.OK && (r.More || parts != nil) {
				if parts == nil {
					parts = &wire.Assembler{}
				}
				if err := parts.Add(r.Result); err != nil {
					return wire.Reply{}, err
				}
				if r.More {
					continue
				}
				r.Result = parts.Result()
			}
			return r, nil
		case <-ctx.Done():
			m.cancel(c, id)
			return wire.Reply{}, ctx.Err()
		}
	}
}

// cancel asks the daemon to end request id on c, without waiting: the
// daemon's answer, and the request's own, are dropped by read.
func (m *Mux) cancel(c *muxConn, id uint64) {
	m.mu.Lock()
	m.next++
	frame := wire.Request{ID: m.next, Action: CancelAction, Args: []string{strconv.FormatUint(id, 10)}}
	m.mu.Unlock()
	go func() {
		c.wmu.Lock()
		defer c.wmu.Unlock()
		c.c.SetWriteDeadline(time.Now().Add(muxWriteTimeout))
		if wire.Encode(c.c, frame) != nil {
			c.c.Close() // a part of a frame may have gone
		}
	}()
}
