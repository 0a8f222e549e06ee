package p2p

import (
	"context"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// PingReply answers `fleet-ping REF` (herd fleet ping): it connects to
// the daemon that exported the capability REF at the network addresses
// REF names, then measures a libp2p ping's round trip on that
// connection. It presents nothing to that daemon, which only sees a
// connection and a ping. network gives the daemon's libp2p host.
func PingReply(req wire.Request, network func() (*Host, error), timeout time.Duration) wire.Reply {
	ref, err := capability.ParseSturdyref(strings.Join(req.Args, ""))
	var addrs []string
	for _, a := range ref.Addrs {
		if !strings.HasPrefix(a, "/unix") {
			addrs = append(addrs, a)
		}
	}
	if err != nil || len(addrs) == 0 {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "fleet-ping: expected a capability with a network address"))
	}
	unreachable := func(err error) wire.Reply {
		return wire.ErrReply(req.ID, wire.Errorf(wire.Unreachable, "daemon %s is unreachable: %v", ref.Peer, err))
	}
	h, err := network()
	if err != nil {
		return unreachable(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := h.Dial(ctx, ref.Peer, addrs)
	if err != nil {
		return unreachable(err)
	}
	c.Close()
	rtt, err := h.Ping(ctx, ref.Peer)
	if err != nil {
		return unreachable(err)
	}
	return wire.OKReply(req.ID, wire.PingResult{Peer: ref.Peer, RTT: wire.Duration(rtt)})
}
