package service

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/internal/activation"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/lifecycle"
	"golang.org/x/sys/unix"
)

// A controller's side of socket activation and environment files: the
// machine decides (services/lifecycle/activation.go), the controller holds the
// sockets (internal/activation binds them), arms the poller, accepts for
// inetd-style services and starts each connection's process through the
// monitor, like any other.

// sockState is what a controller holds for socket activation.
type sockState struct {
	socks []*activation.Socket
	// gen numbers the watches: a report of an earlier one is stale.
	gen uint64
	// conns are an inetd-style service's connections; connTag numbers
	// the spawns of their processes.
	conns   activation.Conns
	connTag uint64
}

// listened answers the Listen effect.
type listened struct{ err error }

// sockReady says a client waits on socket FD (a watch of generation gen).
type sockReady struct {
	fd  int
	gen uint64
}

// acceptAgain re-arms accepting after the daemon ran out of descriptors.
type acceptAgain struct{ gen uint64 }

// acceptBatch bounds the connections accepted per report, so that one
// busy service does not hold its controller for long.
const acceptBatch = 64

// acceptRetry is how long accepting pauses when the daemon is out of
// descriptors: the clients wait in the backlog meanwhile.
const acceptRetry = 100 * time.Millisecond

// environ is the environment of the service's processes: the daemon's
// base, the user's identity, the environment files (read now, so that an
// edit applies at the next start), the service's own variables, then
// extras. An environment file that cannot be read fails it.
func (st *ControllerState) environ(extra ...map[string]string) ([]string, error) {
	files, err := config.ReadEnvironmentFiles(st.spec.EnvironmentFiles)
	if err != nil {
		return nil, err
	}
	return proc.Environ(st.env.BaseEnv, append([]map[string]string{st.userEnv(), files, st.spec.Environment}, extra...)...), nil
}

// passSockets gives the spawn of the main process the service's sockets,
// systemd style: fds 3.. in blocking mode, LISTEN_FDS, LISTEN_FDNAMES,
// and LISTEN_PID set by the trampoline in the process itself.
func (st *ControllerState) passSockets(sp *monitor.Spawn) {
	if st.spec.Activation.Style != services.ActivationSystemd || len(st.sock.socks) == 0 {
		return
	}
	for _, s := range st.sock.socks {
		if err := s.SetBlocking(true); err != nil {
			st.env.Logf("service %s: socket %s: %v", st.spec.Name, s.Endpoint, err)
		}
		sp.ExtraFiles = append(sp.ExtraFiles, s.FD())
	}
	if sp.Settings == nil {
		sp.Settings = &proc.Settings{}
	}
	sp.Settings.ListenPID = true
}

// activationEffect performs an effect of socket activation.
func (c *controller) activationEffect(ctx actor.Context, e lifecycle.Effect) {
	st := c.st
	ss := &st.sock
	switch e := e.(type) {
	case lifecycle.Listen:
		socks, err := activation.Reconcile(ss.socks, st.spec.Listen)
		ss.socks = socks
		ctx.Send(ctx.Self(), &listened{err: err})
	case lifecycle.CloseSockets:
		c.unwatch()
		for _, s := range ss.socks {
			s.Close()
		}
		ss.socks = nil
		ss.conns.CloseAccepted()
	case lifecycle.WatchConnection:
		c.watch(ctx)
	case lifecycle.Accept:
		if e.On {
			for _, s := range ss.socks {
				if err := s.SetBlocking(false); err != nil {
					st.env.Logf("service %s: socket %s: %v", st.spec.Name, s.Endpoint, err)
				}
			}
			c.watch(ctx)
		} else {
			c.unwatch()
		}
	case lifecycle.ServeConn:
		c.serveConn(ctx, e.ID)
	case lifecycle.RefuseConn:
		if conn, ok := ss.conns.Take(e.ID); ok {
			conn.File.Close()
		}
	case lifecycle.SignalConns:
		for _, err := range ss.conns.Signal(e.Sig) {
			st.env.Logf("service %s: %s: %v", st.spec.Name, services.SignalName(e.Sig), err)
		}
	case lifecycle.LogRefusals:
		switch {
		case e.Ended:
			st.env.Logf("service %s: serving connections again (%d active of at most %d); %d more refused since %s",
				st.spec.Name, e.Active, e.Max, e.Count, e.Since.Local().Format(proc.TimeLayout))
		default:
			st.env.Logf("service %s: max-connections reached (%d active): %d connection(s) refused since %s",
				st.spec.Name, e.Active, e.Count, e.Since.Local().Format(proc.TimeLayout))
		}
	}
}

// watch asks the poller to say when a client waits on any socket.
func (c *controller) watch(ctx actor.Context) {
	st := c.st
	c.unwatch()
	self, send, gen := ctx.Self(), ctx.ActorSystem().Root.Send, st.sock.gen
	for _, s := range st.sock.socks {
		fd := s.FD() // read here: the function runs on the poller's goroutine
		st.watchOne(s, func() { send(self, &sockReady{fd: fd, gen: gen}) })
	}
}

// watchOne arms the poller for one socket.
func (st *ControllerState) watchOne(s *activation.Socket, f func()) {
	err := errors.New("no poller (the daemon gave none)")
	if st.env.Poller != nil {
		err = st.env.Poller.WatchOnce(s.FD(), f)
	}
	if err != nil {
		st.env.Logf("service %s: cannot watch socket %s: %v", st.spec.Name, s.Endpoint, err)
	}
}

// unwatch cancels every watch: a report already sent is stale.
func (c *controller) unwatch() {
	st := c.st
	st.sock.gen++
	for _, s := range st.sock.socks {
		if st.env.Poller != nil && s.FD() >= 0 {
			st.env.Poller.Cancel(s.FD())
		}
	}
}

// activationMessage handles the controller's messages of socket
// activation; it reports whether msg was one.
func (c *controller) activationMessage(ctx actor.Context, msg any) bool {
	st := c.st
	switch msg := msg.(type) {
	case *listened:
		if msg.err != nil {
			st.env.Logf("service %s: %v", st.spec.Name, msg.err)
			c.step(ctx, lifecycle.ListenFailed{Reason: msg.err.Error(), At: time.Now()})
		} else {
			c.step(ctx, lifecycle.Listening{At: time.Now()})
		}
	case *sockReady:
		if msg.gen != st.sock.gen {
			return true
		}
		if st.spec.Activation.Style == services.ActivationInetd {
			c.acceptConns(ctx, msg.fd)
			return true
		}
		c.unwatch()
		c.step(ctx, lifecycle.ConnectionPending{At: time.Now()})
	case *acceptAgain:
		if msg.gen == st.sock.gen {
			c.watch(ctx)
		}
	default:
		return false
	}
	return true
}

// acceptConns takes the connections waiting on socket fd, for the
// machine to serve or refuse each, then watches the socket again.
func (c *controller) acceptConns(ctx actor.Context, fd int) {
	st := c.st
	var sock *activation.Socket
	for _, s := range st.sock.socks {
		if s.FD() == fd {
			sock = s
		}
	}
	if sock == nil {
		return
	}
	gen := st.sock.gen
	for range acceptBatch {
		if !st.m.Accepting() {
			return // watched again once it accepts again
		}
		conn, err := sock.Accept()
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil {
			// Out of descriptors, say: the clients wait in the backlog.
			st.env.Logf("service %s: accept on %s: %v; trying again in %v", st.spec.Name, sock.Endpoint, err, acceptRetry)
			self, send := ctx.Self(), ctx.ActorSystem().Root.Send
			time.AfterFunc(acceptRetry, func() { send(self, &acceptAgain{gen: gen}) })
			return
		}
		c.step(ctx, lifecycle.ConnAccepted{ID: st.sock.conns.Add(conn), At: time.Now()})
		if st.sock.gen != gen {
			return // no longer accepting
		}
	}
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	st.watchOne(sock, func() { send(self, &sockReady{fd: fd, gen: gen}) })
}

// serveConn starts the process of accepted connection id: the service's
// command with the connection on fds 0 and 1, its stderr to the log.
func (c *controller) serveConn(ctx actor.Context, id uint64) {
	st := c.st
	conn, ok := st.sock.conns.Take(id)
	if !ok {
		return
	}
	env, err := st.environ(activation.ConnEnv(conn))
	if err != nil {
		conn.File.Close()
		st.env.Logf("service %s: connection refused: %v", st.spec.Name, err)
		ctx.Send(ctx.Self(), &monitor.Spawned{Conn: true, Err: err})
		return
	}
	st.sock.connTag++
	st.sock.conns.Spawning(st.sock.connTag, conn)
	sp := &monitor.Spawn{
		Argv: st.spec.Command, Env: env, Dir: st.spec.Directory, Owner: ctx.Self(), Tag: st.sock.connTag,
		Logger: st.logger, Creds: st.creds(), Conn: true, Stdin: conn.File, Stdout: conn.File,
	}
	if s := st.spec; s.NeedsTrampoline() {
		sp.Settings = &proc.Settings{Umask: s.Umask, Limits: s.Limits, Nice: s.Nice, IOClass: s.IOClass, IOPriority: s.IOPriority}
	}
	// In the service's cgroup, under its limits, killed with it.
	if err := st.place(sp); err != nil {
		ctx.Send(ctx.Self(), &monitor.Spawned{Tag: sp.Tag, Conn: true, Err: err, At: time.Now()})
		return
	}
	ctx.Send(st.env.Monitor, sp)
}

// onConnSpawned handles the start of a connection's process: the
// connection is the process's now.
func (c *controller) onConnSpawned(ctx actor.Context, msg *monitor.Spawned) {
	st := c.st
	if msg.Err != nil {
		st.sock.conns.Spawned(msg.Tag, 0, nil)
		if msg.Tag != 0 {
			st.env.Logf("service %s: cannot start a process for a connection: %v", st.spec.Name, msg.Err)
		}
		c.step(ctx, lifecycle.ConnEnded{At: time.Now()})
		return
	}
	st.sock.conns.Spawned(msg.Tag, msg.PID, msg.Handle)
}

// onConnExited handles the exit of a connection's process; it reports
// whether pid was one.
func (c *controller) onConnExited(ctx actor.Context, msg *monitor.Exited) bool {
	st := c.st
	if !st.sock.conns.Exited(msg.PID) {
		return false
	}
	if !msg.Status.Success() {
		st.env.Logf("service %s: connection process %d %v", st.spec.Name, msg.PID, msg.Status)
	}
	c.step(ctx, lifecycle.ConnEnded{At: msg.At})
	return true
}

// closeActivation lets go of everything when the controller goes away:
// sockets closed, connections' processes killed.
func (c *controller) closeActivation() {
	st := c.st
	c.unwatch()
	for _, s := range st.sock.socks {
		s.Close()
	}
	st.sock.socks = nil
	st.sock.conns.Close()
}

// savedActivation is what a re-exec hands over of the sockets and the
// connections' processes (their pidfds).
func (st *ControllerState) savedActivation(s *Saved) error {
	if st.sock.conns.Pending() {
		return fmt.Errorf("service %s is starting a connection's process", st.spec.Name)
	}
	s.Sockets, s.Conns = activation.SaveAll(st.sock.socks), st.sock.conns.Save()
	return nil
}

// restoreActivation takes back the sockets and connections a re-exec
// handed over.
func (cs *ControllerState) restoreActivation(s Saved) {
	socks, errs := activation.InheritAll(s.Sockets)
	cs.sock.socks = socks
	errs = append(errs, cs.sock.conns.Restore(s.Conns)...)
	for _, err := range errs {
		cs.env.Logf("service %s: re-exec handover: %v", s.Spec.Name, err)
	}
}

// ConnPIDs are the PIDs of the connections' processes a re-exec hands
// over, for the monitor to route their exits.
func (s Saved) ConnPIDs() []int { return slices.Sorted(maps.Keys(s.Conns)) }

// InheritFDs lists the descriptors a re-exec must pass on for s, besides
// the main process's pidfd: its sockets, its connections' pidfds.
func (s Saved) InheritFDs() []int { return activation.InheritFDs(s.Sockets, s.Conns) }
