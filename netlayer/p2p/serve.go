package p2p

import (
	"net"

	"github.com/shepherd-go/shepherd/netlayer/local"
)

// NewHostFor makes a shepherd's listening host on cfg and serves the
// control protocol on its /shepherd/ctl/1 streams with handler: the
// network side of a daemon, which the daemon and the fleet simulator
// (internal/fleetsim) both build with it. Each caller is named by its
// peer ID (local.Peer.Remote). run runs the server's loop (the daemon's
// accounted goroutines); Close the server, then the host, to stop.
func NewHostFor(cfg Config, handler local.Handler, run func(func())) (*Host, *local.Server, error) {
	h, err := New(cfg)
	if err != nil {
		return nil, nil, err
	}
	srv, err := h.Serve(handler, cfg.Logf, run)
	if err != nil {
		h.Close()
		return nil, nil, err
	}
	return h, srv, nil
}

// Serve serves the control protocol on the host's /shepherd/ctl/1 streams
// with handler, in run.
func (h *Host) Serve(handler local.Handler, logf func(string, ...any), run func(func())) (*local.Server, error) {
	ln, err := h.Listen()
	if err != nil {
		return nil, err
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	srv := &local.Server{Handler: handler, Logf: logf, Identify: func(c net.Conn) (local.Peer, error) {
		return local.Peer{Remote: c.RemoteAddr().String()}, nil
	}}
	run(func() { srv.Serve(ln) })
	return srv, nil
}
