package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/internal/tail"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// StreamAction is the request that makes a relay follow one stream of a
// host behind it for the caller (herd fleet tail): a file's tail through
// a read capability, or a service's log -f. Nothing else is relayed this
// way: both only read, and neither ends by itself. A relay capability
// allows it when it holds this action (herd cap grant relay --actions
// relay-exec,relay-stream).
const StreamAction = "relay-stream"

// streamRequest is the request a relay-stream asks the relay to send the
// host (its sturdyref and ID are the relay's to set).
type streamRequest struct {
	Service string   `json:"service,omitempty"`
	Action  string   `json:"action"`
	Args    []string `json:"args,omitempty"`
}

// StreamArgs are the arguments of a relay-stream request: --follow (a
// daemon that forwards it gives a follow stream no deadline), the host
// (its name and the holder's sturdyref for the stream), and the request
// to send the host.
func StreamArgs(h Host, inner wire.Request) []string {
	hb, _ := json.Marshal(h)
	ib, _ := json.Marshal(streamRequest{Service: inner.Service, Action: inner.Action, Args: inner.Args})
	return []string{"--follow", string(hb), string(ib)}
}

// ParseStream reads a relay-stream request: the host, and the request to
// send it (presenting the holder's sturdyref, marked relayed).
func ParseStream(req wire.Request) (Host, wire.Request, error) {
	var h Host
	var in streamRequest
	if len(req.Args) != 3 || req.Args[0] != "--follow" {
		return h, wire.Request{}, errors.New("relay-stream: expected --follow HOST REQUEST")
	}
	if err := json.Unmarshal([]byte(req.Args[1]), &h); err != nil || h.Name == "" || h.Ref == "" {
		return h, wire.Request{}, errors.New("relay-stream: the host is not a JSON {name, ref}")
	}
	if err := json.Unmarshal([]byte(req.Args[2]), &in); err != nil {
		return h, wire.Request{}, fmt.Errorf("relay-stream: the request is not a JSON {service, action, args}: %v", err)
	}
	switch {
	case in.Service == capability.ReadTarget && in.Action == tail.Action:
	case in.Service == "" && in.Action == "log" && slices.Contains(in.Args, "-f"):
	default:
		return h, wire.Request{}, fmt.Errorf("relay-stream: a relay follows a file's tail or a service's log -f, not %q on %q", in.Action, in.Service)
	}
	return h, wire.Request{Service: in.Service, Action: in.Action, Args: in.Args, Cap: h.Ref, Relayed: true}, nil
}

// ServeStream follows the stream req asks of a host (checked already:
// the caller holds a relay capability of this daemon with StreamAction),
// sending each of the host's replies back as it comes. The host checks
// the holder's sturdyref as presented by anyone, and its refusal comes
// back word for word. authz, when not nil, checks the caller's relay
// capability again before each reply: revoking it ends the stream.
func ServeStream(ctx context.Context, env Env, req wire.Request, authz func() *wire.Error, out local.Responder) {
	h, inner, err := ParseStream(req)
	var ref capability.Sturdyref
	if err == nil {
		if ref, err = capability.ParseSturdyref(h.Ref); err != nil {
			err = fmt.Errorf("host %s: the sturdyref: %v", h.Name, err)
		}
	}
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)))
		return
	}
	if env.CallTimeout <= 0 {
		env.CallTimeout = 10 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, env.CallTimeout)
	c, err := env.Dial(dctx, ref)
	cancel()
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.Unreachable, "daemon %s is unreachable from the relay: %v", ref.Peer, err)))
		return
	}
	defer c.Close()
	err = c.Stream(ctx, inner, func(r wire.Reply) error {
		if authz != nil {
			if werr := authz(); werr != nil {
				out.Send(wire.ErrReply(req.ID, &wire.Error{Kind: werr.Kind, Message: "the relay's capability: " + werr.Message}))
				return context.Canceled
			}
		}
		r.ID = req.ID
		if !out.Send(r) {
			return context.Canceled
		}
		return nil
	})
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.Unreachable, "host %s, from the relay: %v", h.Name, err)))
	}
}
