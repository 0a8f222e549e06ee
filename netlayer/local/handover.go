package local

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// A re-exec (herd upgrade) replaces the daemon's binary while clients are
// connected. No request that was read may be left without its reply, and
// none that was not read may be lost (docs/design-notes.md):
//
//   - Pause stops accepting (new connections wait in the listener's
//     backlog, and the listener is handed over) and stops reading: each
//     connection's reader parks between frames, what it had read of the
//     next frame kept in its decoder. Requests in flight are waited for;
//     streams (log -f, events -f) end with an error reply that says the
//     daemon is re-executing and how to resume.
//   - Handover gives each connection's descriptor (a duplicate for the new
//     binary to inherit) and the bytes read from it but not yet served.
//   - The new binary Adopts each one and serves it as if nothing happened:
//     the client's next request, or the one it had half sent, is read
//     there.
//
// Connections that cannot cross an execve (libp2p streams live in the
// daemon's memory) are read on during the pause, and each request is
// answered with an error saying it was not carried out; they end at the
// execve.

// errReexec is the cause of the cancellation of a stream that a re-exec
// ends.
var errReexec = errors.New("the daemon is re-executing")

// reexecStreamEnd is the last reply of a stream that a re-exec ended.
func reexecStreamEnd() *wire.Error {
	return wire.Errorf(wire.Unreachable, "the daemon is re-executing (herd upgrade): this stream ends here; run the command again to resume")
}

// reexecNotServed answers a request that arrives, on a connection that
// cannot be handed over, while the daemon prepares its re-exec.
func reexecNotServed() *wire.Error {
	return wire.Errorf(wire.Unreachable, "the daemon is re-executing (herd upgrade): this request was not carried out; send it again in a moment")
}

// MaxHandedBytes bounds what one connection may carry across a re-exec:
// the start of a frame it was sending, and any frames after it. A
// connection with more (a frame over 64 KiB on its way) is answered with
// bad-request and closed; requests are far smaller.
const MaxHandedBytes = 64 << 10

// pauseWriteTimeout bounds a reply write during a pause: a client that
// does not read its replies (a stream's, or the error replies to its
// garbage) must not hold a re-exec for the whole WriteTimeout. Its
// connection is dropped instead.
const pauseWriteTimeout = time.Second

// pause is the state of a paused server.
type pause struct {
	resume chan struct{} // closed by Resume
	exempt func(wire.Request) bool
	// acceptStopped: the listener's deadline was moved to the past, so
	// that Accept returns; Resume moves it back.
	acceptStopped bool
}

type deadliner interface{ SetDeadline(time.Time) error }

// Pause prepares the server for a re-exec: it stops accepting and
// reading requests, and returns once every connection's reader is parked
// and no request is in flight. Streams (requests that have sent a reply
// with More) are ended with an error reply saying the daemon is
// re-executing. One request that exempt recognises (the one asking for
// the re-exec, which is in flight while it asks) is left in flight;
// exempt may be nil. If requests are still in flight at deadline, Pause
// resumes the server and says which.
func (s *Server) Pause(deadline time.Time, exempt func(wire.Request) bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	if s.paused != nil {
		s.mu.Unlock()
		return errors.New("the server is paused already")
	}
	s.initLocked()
	p := &pause{resume: make(chan struct{}), exempt: exempt}
	s.paused = p
	past := time.Unix(1, 0)
	if d, ok := s.ln.(deadliner); ok && s.ln != nil {
		p.acceptStopped = d.SetDeadline(past) == nil
	}
	for cn := range s.conns {
		if cn.transferable {
			cn.c.SetReadDeadline(past)
		}
		cn.out.hurried.Store(true)
		cn.c.SetWriteDeadline(time.Now().Add(pauseWriteTimeout)) // a write under way
	}
	s.mu.Unlock()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		s.mu.Lock()
		busy := s.busyLocked(p)
		s.mu.Unlock()
		if busy == "" {
			return nil
		}
		select {
		case <-s.changed:
		case <-s.done:
			return net.ErrClosed
		case <-timer.C:
			s.Resume()
			return errors.New(busy)
		}
	}
}

// busyLocked says what a pause still waits for ("" for nothing), and
// ends the streams in flight.
func (s *Server) busyLocked(p *pause) string {
	busy, exempted := "", 0
	for cn := range s.conns {
		if cn.transferable && !cn.parked && busy == "" {
			busy = fmt.Sprintf("a connection of %s is still being read", cn.key)
		}
		for r := range cn.reqs {
			switch {
			case p.exempt != nil && p.exempt(r.req):
				if exempted++; exempted > 1 && busy == "" {
					busy = fmt.Sprintf("another '%s' of %s is in flight", r.req.Action, cn.key)
				}
			case r.streaming.Load():
				r.cancel(errReexec)
				if busy == "" {
					busy = fmt.Sprintf("the stream '%s' of %s is ending", describe(r.req), cn.key)
				}
			case busy == "":
				busy = fmt.Sprintf("request '%s' of %s is still in flight", describe(r.req), cn.key)
			}
		}
	}
	return busy
}

func describe(req wire.Request) string {
	if req.Service == "" {
		return req.Action
	}
	return req.Action + " " + req.Service
}

// Resume undoes Pause (the re-exec did not happen): the server accepts
// and reads again. It does nothing if the server is not paused.
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.paused
	if p == nil {
		return
	}
	s.paused = nil
	for cn := range s.conns {
		cn.out.hurried.Store(false)
	}
	if p.acceptStopped {
		s.ln.(deadliner).SetDeadline(time.Time{})
	}
	close(p.resume)
}

// HandedConn is a connection passed to a new binary: a duplicate of its
// descriptor, to be inherited, and the bytes read from it but not served.
type HandedConn struct {
	File     *os.File
	Buffered []byte
}

// Handover returns, after Pause, the connections to hand to the new
// binary; the caller closes the files once they are inherited (or the
// re-exec failed and it resumes the server). A connection with more than
// MaxHandedBytes unserved is answered with bad-request and closed.
func (s *Server) Handover() ([]HandedConn, error) {
	s.mu.Lock()
	if s.paused == nil {
		s.mu.Unlock()
		return nil, errors.New("handover of a server that is not paused")
	}
	var out []HandedConn
	var drop []*conn
	fail := func(err error) ([]HandedConn, error) {
		s.mu.Unlock()
		for _, h := range out {
			h.File.Close()
		}
		return nil, err
	}
	for cn := range s.conns {
		if !cn.transferable || cn.out.isDead() {
			continue
		}
		if !cn.parked {
			return fail(fmt.Errorf("a connection of %s is still being read", cn.key))
		}
		buf, ok := cn.dec.Buffered()
		if cn.pre != nil {
			buf = append(buf, cn.pre.rest...)
		}
		if !ok || len(buf) > MaxHandedBytes {
			drop = append(drop, cn)
			continue
		}
		f, err := cn.c.(*net.UnixConn).File()
		if err != nil {
			return fail(fmt.Errorf("connection of %s: %w", cn.key, err))
		}
		out = append(out, HandedConn{File: f, Buffered: buf})
	}
	s.mu.Unlock()
	for _, cn := range drop {
		cn.out.Send(wire.ErrReply(0, wire.Errorf(wire.BadRequest,
			"the daemon re-executed while this connection was sending a frame of over %d bytes; send it again", MaxHandedBytes)))
		cn.c.Close()
	}
	return out, nil
}

// Adopt serves a connection handed over by the binary before us (f, which
// Adopt closes), starting with the bytes it had read from it. Adopted
// connections count against the limits but are never refused.
func (s *Server) Adopt(f *os.File, buffered []byte) error {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return err
	}
	peer, err := s.identify(c)
	if err != nil {
		c.Close()
		return err
	}
	privileged := s.Privileged != nil && s.Privileged(peer)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return net.ErrClosed
	}
	s.initLocked()
	cn := s.trackLocked(c, peer, peerKey(peer), privileged)
	cn.pre = &prefixReader{rest: buffered, c: c}
	cn.dec = wire.NewDecoder(cn.pre)
	s.mu.Unlock()
	go s.serveConn(cn)
	return nil
}

// prefixReader reads rest, then from c: a connection adopted with bytes
// the binary before us had read from it.
type prefixReader struct {
	rest []byte // only read by the connection's reader (or Handover, while it is parked)
	c    net.Conn
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.rest) > 0 {
		n := copy(b, p.rest)
		p.rest = p.rest[n:]
		return n, nil
	}
	return p.c.Read(b)
}
