package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Streams: a comment every keepalive keeps proxies and idle timers from
// closing a quiet stream; a write that cannot go out within writeWait
// ends the stream (a client that stopped reading holds nothing for long;
// it resumes with Last-Event-ID).
const (
	keepalive = 15 * time.Second
	writeWait = 30 * time.Second
)

// sseWriter writes one text/event-stream response.
type sseWriter struct {
	w      http.ResponseWriter
	rc     *http.ResponseController
	mu     sync.Mutex
	failed bool // guarded by mu
}

// write sends b at once; false once the client is gone.
func (e *sseWriter) write(b string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failed {
		return false
	}
	e.rc.SetWriteDeadline(time.Now().Add(writeWait))
	if _, err := e.w.Write([]byte(b)); err != nil {
		e.failed = true
		return false
	}
	if err := e.rc.Flush(); err != nil {
		e.failed = true
	}
	return !e.failed
}

// end makes every later write fail, once a write under way is done.
func (e *sseWriter) end() {
	e.mu.Lock()
	e.failed = true
	e.mu.Unlock()
}

// event sends one event; data is JSON (one line).
func (e *sseWriter) event(id, kind string, data []byte) bool {
	var b strings.Builder
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	if kind != "" {
		fmt.Fprintf(&b, "event: %s\n", kind)
	}
	fmt.Fprintf(&b, "data: %s\n\n", data)
	return e.write(b.String())
}

// stream serves req as Server-Sent Events: a refusal before the first
// frame is an ordinary JSON error with its status; after it, an `error`
// event ends the stream. each writes a frame's events.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, c *caller, req wire.Request, each func(*sseWriter, wire.Reply) bool) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	e := &sseWriter{w: w, rc: http.NewResponseController(w)}
	var (
		started, answered bool
		stopped           = make(chan struct{})
	)
	defer close(stopped)
	// Waits for a keepalive being written and stops the next: the
	// response is net/http's again once the handler returns.
	defer e.end()
	s.serve(ctx, c, req, responderFunc(func(rep wire.Reply) bool {
		answered = true
		if !started {
			if !rep.OK {
				writeError(w, statusOf(errKind(rep)), rep.Error)
				return false
			}
			started = true
			h := w.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-store")
			h.Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
			if !e.write("retry: 1000\n\n") {
				return false
			}
			go func() {
				t := time.NewTicker(keepalive)
				defer t.Stop()
				for {
					select {
					case <-stopped:
						return
					case <-ctx.Done():
						return
					case <-t.C:
						if !e.write(": keepalive\n\n") {
							cancel()
							return
						}
					}
				}
			}()
		}
		if !rep.OK {
			b, _ := jsonLine(rep.Error)
			e.event("", "error", b)
			return false
		}
		if !each(e, rep) {
			cancel()
			return false
		}
		return rep.More
	}))
	if !answered && ctx.Err() == nil && r.Context().Err() == nil {
		// The daemon answered nothing: it is stopping.
		writeError(w, http.StatusServiceUnavailable, wire.Errorf(wire.Timeout, "no answer: the daemon is stopping"))
	}
}
