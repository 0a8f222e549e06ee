package insight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/fleet/relay"
	"github.com/shepherd-go/shepherd/internal/tail"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TailLine is one line a host sent, or a note about its stream (Note:
// dropped, retrying, back).
type TailLine struct {
	Host string
	Line string
	Note bool
}

// Backoff bounds the waits between a dropped stream and its next try.
var (
	BackoffMin = 500 * time.Millisecond
	BackoffMax = 30 * time.Second
)

// errFinal is a stream error not worth a retry (refused, malformed).
type errFinal struct{ error }

// Follow runs open (a stream of one host) until ctx ends, reporting
// through emit a drop and opening it again with a doubling backoff
// (reset once a stream delivered); first says whether it is the first
// open (later ones ask for no backlog, so that no line comes twice). A
// refusal ends it, and is returned; the end of ctx returns nil.
func Follow(ctx context.Context, host string, open func(ctx context.Context, first bool, delivered func()) error, emit func(TailLine)) error {
	wait := BackoffMin
	for first := true; ; first = false {
		got := false
		err := open(ctx, first, func() {
			if !got && !first {
				emit(TailLine{Host: host, Line: "reconnected", Note: true})
			}
			got = true
		})
		if ctx.Err() != nil {
			return nil
		}
		var fin errFinal
		if errors.As(err, &fin) {
			emit(TailLine{Host: host, Line: fin.Error(), Note: true})
			return fin
		}
		if got {
			wait = BackoffMin
		}
		if err == nil {
			err = errors.New("the stream ended")
		}
		emit(TailLine{Host: host, Line: fmt.Sprintf("dropped: %v; retrying in %v", err, wait), Note: true})
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(wait*2, BackoffMax)
	}
}

// ShepherdTail is the stream of one file of a shepherd host, through
// its read capability's tail action (filtered on the host). A stream
// that comes back resumes after the last line it delivered (the host's
// file and offset), so that the lines written while it was down come
// too, and none twice.
func ShepherdTail(socket string, h *fleet.Host, a tail.Args, emit func(TailLine)) func(ctx context.Context, first bool, delivered func()) error {
	var file string // the host's file followed, and the offset after its last line
	var offset int64
	return func(ctx context.Context, first bool, delivered func()) error {
		if h.ReadRef == nil {
			return errFinal{fmt.Errorf("no read capability: give host %s a read: key in the inventory (the host grants it with herd cap grant read --allow PATTERN)", h.Name)}
		}
		if !first {
			a.Lines, a.File, a.From = 0, file, offset
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		c, err := local.Dial(dctx, socket)
		cancel()
		if err != nil {
			return fmt.Errorf("the local shepherd relays fleet calls: %v", err)
		}
		defer c.Close()
		err = c.Stream(ctx, hostStream(h, h.Read, wire.Request{Service: "read", Action: tail.Action, Args: a.Encode()}), func(r wire.Reply) error {
			if !r.OK {
				switch r.Error.Kind {
				case wire.PermissionDenied, wire.BadRequest, wire.CapabilityRevoked, wire.CapabilityExpired:
					return errFinal{errors.New(relayHint(h, r.Error.Message))}
				}
				return errors.New(r.Error.Message)
			}
			var l tail.Lines
			if err := json.Unmarshal(r.Result, &l); err != nil {
				return err
			}
			delivered()
			file, offset = l.File, l.Offset
			if l.Note != "" {
				emit(TailLine{Host: h.Name, Line: l.Note, Note: true})
			}
			for _, line := range l.Lines {
				emit(TailLine{Host: h.Name, Line: line})
			}
			return nil
		})
		return viaRelay(h, err)
	}
}

// hostStream is the request of one host's stream: inner presenting ref
// to the host, or, for a host behind a relay, a relay-stream asking the
// relay to follow it (fleet/relay).
func hostStream(h *fleet.Host, ref string, inner wire.Request) wire.Request {
	if h.Relay == nil {
		inner.Cap = ref
		return inner
	}
	return wire.Request{Service: relay.Target, Action: relay.StreamAction,
		Args: relay.StreamArgs(relay.Host{Name: h.Name, Ref: ref}, inner), Cap: h.Relay.Address}
}

// relayHint adds to a refusal of a relay's what to do about it.
func relayHint(h *fleet.Host, msg string) string {
	if h.Relay != nil && strings.Contains(msg, relay.StreamAction) {
		msg += fmt.Sprintf(" (host %s is behind relay %s: the relay's capability in the inventory must hold relay-stream; on the relay: herd cap grant relay --actions relay-exec,relay-stream --to-peer YOURS)", h.Name, h.Relay.Name)
	}
	return msg
}

// viaRelay names the relay in a failure of a host behind one.
func viaRelay(h *fleet.Host, err error) error {
	var fin errFinal
	if err == nil || h.Relay == nil || errors.As(err, &fin) {
		return err
	}
	return fmt.Errorf("relay %s: %w", h.Relay.Name, err)
}
