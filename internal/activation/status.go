package activation

import (
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// Status describes a service's sockets for `herd status NAME`, or nil for
// a service without `listen`: a is the machine's side, socks the sockets
// held (in the order of spec.Listen, as Reconcile leaves them).
func Status(spec *services.Spec, a lifecycle.ActivationSnapshot, socks []*Socket) *wire.Activation {
	if !spec.Activation.Sockets() {
		return nil
	}
	out := &wire.Activation{
		Style: string(spec.Activation.Style), OnConnection: spec.Activation.OnConnection, Listening: a.Listening,
		Waiting: a.Waiting, MaxConnections: spec.Activation.MaxConnections,
		Connections: a.Connections, Served: a.Served, Refused: a.Refused,
	}
	for i, e := range spec.Listen {
		so := wire.Socket{Kind: "tcp", Address: e.TCP, Name: e.Name}
		if e.Unix != "" {
			so.Kind, so.Address = "unix", e.Unix
		}
		if a.Listening && i < len(socks) {
			so.Inode = socks[i].Inode
		}
		out.Sockets = append(out.Sockets, so)
	}
	return out
}

// InheritFDs lists the descriptors a re-exec must pass on for sockets
// and connections' processes (by PID) it hands over.
func InheritFDs(socks []Saved, conns map[int]int) []int {
	var fds []int
	for _, s := range socks {
		fds = append(fds, s.FD)
	}
	for _, fd := range conns {
		if fd > 0 {
			fds = append(fds, fd)
		}
	}
	return fds
}
