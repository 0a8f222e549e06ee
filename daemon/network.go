package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/fleet/relay"
	"github.com/shepherd-go/shepherd/internal/exectarget"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/p2p"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// startNetwork listens on libp2p (--listen) and serves the control
// protocol there with the same handler as the unix socket; callers are
// named by their peer ID and hold only what capabilities give them.
func (d *Daemon) startNetwork() error {
	h, srv, err := p2p.NewHostFor(p2p.Config{Key: d.key, Listen: d.opts.Listen, PSK: d.opts.PSK, Logf: d.logf}, &api{d: d}, d.goGo)
	if err != nil {
		return err
	}
	d.netMu.Lock()
	d.net = h
	d.netMu.Unlock()
	d.netServer = srv
	d.logf("libp2p: peer %s listening on %s", d.peerID, strings.Join(h.Addrs(), " "))
	return nil
}

// network is the libp2p host: the listening one, or else one made on the
// first call to another daemon, which dials out and listens nowhere.
func (d *Daemon) network() (*p2p.Host, error) {
	d.netMu.Lock()
	defer d.netMu.Unlock()
	if d.net == nil {
		h, err := p2p.New(p2p.Config{Key: d.key, PSK: d.opts.PSK, Logf: d.logf})
		if err != nil {
			return nil, err
		}
		d.net = h
	}
	return d.net, nil
}

// currentNet is the libp2p host if there is one yet (nil otherwise);
// unlike network it makes none.
func (d *Daemon) currentNet() *p2p.Host {
	d.netMu.Lock()
	defer d.netMu.Unlock()
	return d.net
}

// netAddrs are the address hints of this daemon's sturdyrefs: its libp2p
// listen addresses (none without --listen) and its unix socket.
func (d *Daemon) netAddrs() []string {
	return append(d.listenAddrs(), "/unix"+d.opts.SocketPath)
}

// dialRef connects to the daemon that exported ref: over libp2p when the
// sturdyref names network addresses, else over its unix socket (a daemon
// of another user on this machine).
func (d *Daemon) dialRef(ctx context.Context, ref capability.Sturdyref) (*local.Client, error) {
	socket, netAddrs := splitAddrs(ref)
	if len(netAddrs) == 0 {
		if socket == "" {
			return nil, errors.New("the sturdyref names no address")
		}
		return local.Dial(ctx, socket)
	}
	return d.dialNet(ctx, ref.Peer, netAddrs)
}

// dialOut connects to ref's daemon over libp2p only: for a caller from
// the network (a relayed fleet run), never to a unix socket.
func (d *Daemon) dialOut(ctx context.Context, ref capability.Sturdyref) (*local.Client, error) {
	_, netAddrs := splitAddrs(ref)
	return d.dialNet(ctx, ref.Peer, netAddrs)
}

// dialNet opens a control stream to peer over libp2p, or reuses one.
func (d *Daemon) dialNet(ctx context.Context, peer string, addrs []string) (*local.Client, error) {
	h, err := d.network()
	if err != nil {
		return nil, err
	}
	return h.Client(ctx, peer, addrs) // a kept stream if there is one
}

// splitAddrs sorts a sturdyref's address hints: its unix socket (the
// last one named) and its network addresses.
func splitAddrs(ref capability.Sturdyref) (socket string, netAddrs []string) {
	for _, a := range ref.Addrs {
		if path, ok := strings.CutPrefix(a, "/unix"); ok {
			socket = path
		} else {
			netAddrs = append(netAddrs, a)
		}
	}
	return socket, netAddrs
}

// pingRef checks that the daemon that exported ref is alive, without a
// request to it: a libp2p ping, or a connection to its unix socket.
func (d *Daemon) pingRef(ctx context.Context, ref capability.Sturdyref) error {
	if _, netAddrs := splitAddrs(ref); len(netAddrs) == 0 {
		c, err := d.dialRef(ctx, ref)
		if err == nil {
			c.Close()
		}
		return err
	}
	h, err := d.network()
	if err != nil {
		return err
	}
	_, err = h.Ping(ctx, ref.Peer)
	return err
}

// forward relays a request that presents another daemon's capability to
// that daemon over the network, and its replies back: herd speaks libp2p
// only through its local daemon. The relay adds no authority: for anyone
// but the daemon's owner the request is marked relayed, so the exporter
// checks the capability as presented by anyone; it never dials a unix
// socket for a caller (who can do that as themselves: herd does), so it
// never calls another local daemon as root, nor itself; and its failures
// to reach the exporter all read the same to other users, so that it
// tells them nothing about what answers at an address.
func (a *api) forward(ctx context.Context, req wire.Request, ref capability.Sturdyref, owner bool, out local.Responder) {
	_, netAddrs := splitAddrs(ref)
	if len(netAddrs) == 0 {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest,
			"daemon %s has no network address in the capability; present it at the socket it names yourself (herd --cap does)", ref.Peer)))
		return
	}
	req.Relayed = req.Relayed || !owner
	unreachable := func(err error) {
		msg := fmt.Sprintf("daemon %s is unreachable", ref.Peer)
		if owner {
			msg += ": " + err.Error()
		}
		out.Send(wire.ErrReply(req.ID, &wire.Error{Kind: wire.Unreachable, Service: req.Service, Message: msg}))
	}
	cctx, cancel := context.WithTimeout(ctx, a.d.opts.RemoteCallTimeout)
	c, err := a.d.dialNet(cctx, ref.Peer, netAddrs)
	cancel()
	if err != nil {
		unreachable(err)
		return
	}
	defer c.Close()
	// A relayed call has a deadline, so that an exporter that never
	// answers holds no request here (it would hold up herd upgrade); a
	// follow stream lasts as long as its client.
	if !slices.Contains(req.Args, "-f") && !slices.Contains(req.Args, "--follow") {
		limit := a.d.opts.RemoteCallTimeout
		if _, timeout, err := exectarget.Args(relay.ExecArgs(req)); req.Action == relay.Action && err == nil {
			limit += timeout
		} else if _, timeout, err := exectarget.Args(req.Args); req.Action == "exec" && err == nil {
			limit += timeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	id := req.ID
	err = c.Stream(ctx, req, func(r wire.Reply) error {
		r.ID = id
		if !out.Send(r) {
			return context.Canceled
		}
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		unreachable(err)
	}
}

// netInfo answers `herd id` and `herd peers`.
func (d *Daemon) netInfo(req wire.Request) wire.Reply {
	if req.Action == "id" {
		return wire.OKReply(req.ID, wire.NetID{PeerID: d.peerID, Listen: d.listenAddrs(), Socket: d.opts.SocketPath})
	}
	peers := wire.Peers{Peers: []wire.Peer{}}
	if h := d.currentNet(); h != nil {
		for _, p := range h.Peers() {
			peers.Peers = append(peers.Peers, wire.Peer{ID: p.ID, Addrs: p.Addrs, Latency: wire.Duration(p.Latency), Streams: p.Streams})
		}
	}
	return wire.OKReply(req.ID, peers)
}

// listenAddrs are where the daemon listens on libp2p (none without
// --listen).
func (d *Daemon) listenAddrs() []string {
	h := d.currentNet()
	if h == nil || len(d.opts.Listen) == 0 {
		return []string{}
	}
	return h.Addrs()
}
