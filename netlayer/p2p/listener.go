package p2p

import (
	"net"
	"sync"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// listener is Host.Listen's: the admitted /shepherd/ctl/1 streams.
type listener struct {
	id      peer.ID
	conns   chan net.Conn
	done    chan struct{}
	closing sync.Once
	close   func()
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.closing.Do(func() {
		l.close()
		close(l.done)
	})
	return nil
}

func (l *listener) Addr() net.Addr { return peerAddr{l.id} }

// streamConn is a stream as a net.Conn; its Close gives back the slot it
// holds in the unknown peers' share.
type streamConn struct {
	network.Stream
	releasing sync.Once
	release   func()
}

func (c *streamConn) Close() error {
	c.releasing.Do(c.release)
	return c.Stream.Close()
}

func (c *streamConn) LocalAddr() net.Addr  { return peerAddr{c.Stream.Conn().LocalPeer()} }
func (c *streamConn) RemoteAddr() net.Addr { return peerAddr{c.Stream.Conn().RemotePeer()} }

// peerAddr names a stream's end by its peer ID.
type peerAddr struct{ id peer.ID }

func (peerAddr) Network() string  { return "libp2p" }
func (a peerAddr) String() string { return a.id.String() }
