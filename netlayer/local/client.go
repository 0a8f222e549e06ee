package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Client is one connection to a daemon. It carries one request at a time.
type Client struct {
	c    net.Conn
	dec  *wire.Decoder
	next uint64
	// Kept streams (Keep): done says the last call read its last reply
	// without error, so Close hands the client to reuse instead; a
	// client reused sends its request again on a connection made anew
	// by redial if the old one turns out closed by the far end before
	// the request went.
	reuse  func(*Client)
	redial func(context.Context) (net.Conn, error)
	done   bool
	reused bool
}

// Keep makes c reusable: once a call ended cleanly, Close hands it to
// reuse rather than closing it; redial makes a new connection when a
// reused one turns out closed (netlayer/p2p's kept control streams).
func (c *Client) Keep(reuse func(*Client), redial func(context.Context) (net.Conn, error)) {
	c.reuse, c.redial = reuse, redial
}

// Reused marks c as taken again from where Close put it.
func (c *Client) Reused() { c.reused = true }

// Dial connects to the daemon's socket. Errors read like the C library's,
// prefixed with the socket path: "/run/shepherd/socket: No such file or directory".
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, &DialError{Path: path, Err: err}
	}
	return NewClient(c), nil
}

// NewClient speaks the protocol over an established connection (a libp2p
// stream, say).
func NewClient(c net.Conn) *Client {
	return &Client{c: c, dec: wire.NewDecoder(c)}
}

// DialError is returned by Dial.
type DialError struct {
	Path string
	Err  error
}

func (e *DialError) Error() string {
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		msg := errno.Error()
		return e.Path + ": " + strings.ToUpper(msg[:1]) + msg[1:]
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Close closes the connection, or hands a kept one whose last call
// ended cleanly back to be reused.
func (c *Client) Close() error {
	if c.reuse != nil && c.done {
		c.done = false
		c.reuse(c)
		return nil
	}
	return c.c.Close()
}

// CloseConn closes the connection, kept or not.
func (c *Client) CloseConn() error { return c.c.Close() }

// ErrNotSent marks a failure to write a request: the daemon did not get
// it, so it may be sent again on another connection.
var ErrNotSent = errors.New("request not sent")

// Call sends req and returns its reply; an answer the daemon sent in
// parts (wire.EncodeReply) is put back together. A reply that is an error
// is returned as the reply (OK false), not as err; err is for transport
// failures.
func (c *Client) Call(ctx context.Context, req wire.Request) (wire.Reply, error) {
	var last wire.Reply
	var parts *wire.Assembler
	err := c.Stream(ctx, req, func(r wire.Reply) error {
		if r.OK && (r.More || parts != nil) {
			if parts == nil {
				parts = &wire.Assembler{}
			}
			if err := parts.Add(r.Result); err != nil {
				return err
			}
			if r.More {
				return nil
			}
			r.Result = parts.Result()
		}
		last = r
		return nil
	})
	return last, err
}

// Stream sends req and calls fn for every reply until the last one (More
// false) or until fn returns an error. ctx cancellation closes the stream.
func (c *Client) Stream(ctx context.Context, req wire.Request, fn func(wire.Reply) error) error {
	c.done = false
	reused := c.reused && c.redial != nil
	c.reused = false
	c.next++
	req.ID = c.next
	if dl, ok := ctx.Deadline(); ok {
		c.c.SetDeadline(dl)
	} else {
		c.c.SetDeadline(time.Time{})
	}
	conn := c.c
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer func() { stop() }()
	if err := wire.Encode(c.c, req); err != nil {
		if reused {
			if err := c.again(ctx, &stop); err != nil {
				return err // what a new connection's dial says
			}
			return c.Stream(ctx, req, fn)
		}
		if r, ok := c.refusal(ctx); ok {
			return fn(r)
		}
		return c.ctxErr(ctx, fmt.Errorf("send request: %w: %w", ErrNotSent, err))
	}
	for first := true; ; first = false {
		frame, err := c.dec.Next()
		if err != nil {
			// A kept stream the far end closed before it read the
			// request (an idle timeout, a restart) did not run it.
			if reused && first && errors.Is(err, io.EOF) {
				if err := c.again(ctx, &stop); err != nil {
					return err
				}
				return c.Stream(ctx, req, fn)
			}
			return c.ctxErr(ctx, fmt.Errorf("read reply: %w", err))
		}
		var r wire.Reply
		if err := json.Unmarshal(frame, &r); err != nil {
			return fmt.Errorf("malformed reply from daemon: %w", err)
		}
		validReply(&r)
		if r.ID != req.ID && r.ID != 0 {
			continue
		}
		if r.ID == 0 && reused && first {
			// The far end's farewell to a kept stream (its idle
			// timeout), not an answer: the request was not read.
			if err := c.again(ctx, &stop); err != nil {
				return err
			}
			return c.Stream(ctx, req, fn)
		}
		if err := fn(r); err != nil {
			return err
		}
		if !r.More {
			c.done = stop() // false: ctx ended meanwhile, the deadline is spoilt
			return nil
		}
	}
}

// again replaces a kept connection found closed by a new one, for the
// request to be sent once more; its error is the new connection's (the
// far end is gone: what a call to it says now).
func (c *Client) again(ctx context.Context, stop *func() bool) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	(*stop)()
	nc, err := c.redial(ctx)
	if err != nil {
		return err
	}
	c.c.Close()
	c.c, c.dec = nc, wire.NewDecoder(nc)
	*stop = func() bool { return true }
	return nil
}

// refusal reads the error frame of a daemon that refused the connection
// (too many connections of this caller) and closed it before the request
// arrived: the write failed, but the reason waits in our receive buffer.
func (c *Client) refusal(ctx context.Context) (wire.Reply, bool) {
	if ctx.Err() != nil {
		return wire.Reply{}, false
	}
	// The daemon has closed its side: what it sent is here already.
	c.c.SetReadDeadline(time.Now().Add(time.Second))
	frame, err := c.dec.Next()
	if err != nil {
		return wire.Reply{}, false
	}
	var r wire.Reply
	// Not the idle timeout's farewell: a request not sent on a connection
	// closed as idle is sent again on a new one (callLine).
	if json.Unmarshal(frame, &r) != nil || r.ID != 0 || r.OK || r.Error == nil || r.Error.Kind != wire.BadRequest {
		return wire.Reply{}, false
	}
	return r, true
}

func (c *Client) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// validReply makes a reply safe to use: the daemon may be another
// machine's, and a failure without an error, or an error of no known
// kind, must not reach code that trusts the protocol.
func validReply(r *wire.Reply) {
	if r.OK {
		r.Error = nil
		return
	}
	if r.Error == nil {
		r.Error = wire.Errorf(wire.BadRequest, "the daemon answered a failure without saying why")
	}
	if !wire.KnownKind(r.Error.Kind) {
		r.Error.Message = fmt.Sprintf("%s (error kind %.40q)", r.Error.Message, r.Error.Kind)
		r.Error.Kind = wire.BadRequest
	}
	r.More = false
}
