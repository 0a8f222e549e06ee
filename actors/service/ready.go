package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/internal/notify"
	"github.com/shepherd-go/shepherd/internal/probe"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services/lifecycle"
	"golang.org/x/sys/unix"
)

// readyWatch is the controller's part of readiness: the mechanics behind
// the machine's WatchReady (services/lifecycle/ready.go). A controller of a service
// without `ready:` has none, and pays nothing for it.
type readyWatch struct {
	// notify is the service's sd_notify socket, kept for the
	// controller's life (NOTIFY_SOCKET stays valid across respawns);
	// notifyUID is whom it admits. logged are the counters last logged.
	notify    *notify.Listener
	notifyUID int
	logged    notify.Stats
	// session is the session of the service's processes: its first
	// process's PID (services start with setsid).
	session int
	// spawning: a spawn of the main process was asked for and not yet
	// answered; its datagrams wait for its PID.
	spawning bool
	// fd is the notification fd's pipe (its write end until the process
	// is spawned); fdUnwatch cancels its close at the daemon's end.
	fd        *probe.FD
	fdUnwatch func() bool
	// gen numbers WatchReady: the results of an earlier watch are stale.
	gen        uint64
	probeTimer *time.Timer
	probeTag   uint64
	exec       *execProbe // the exec probe that runs, if any
}

// execProbe is an `exec:` probe's process.
type execProbe struct {
	gen     uint64
	tag     uint64
	pid     int
	handle  *proc.Handle
	timer   *time.Timer
	exited  bool
	status  lifecycle.ExitStatus
	output  string
	gotOut  bool
	timeout bool
}

// Messages of readiness, to the controller itself.
type (
	notifyWake struct{}
	fdReady    struct {
		gen uint64
		err error // nil: a newline came
	}
	probeTick struct{ gen uint64 }
	probeDone struct {
		gen uint64
		err error
	}
	probeOutput struct {
		pid    int
		output string
	}
	probeTimeout struct{ pid int }
)

// prepareReady completes the spawn of the main process with what its
// readiness needs: NOTIFY_SOCKET (and the watchdog's variables), or the
// notification fd. An error fails the start.
func (c *controller) prepareReady(ctx actor.Context, sp *monitor.Spawn) error {
	st := c.st
	r := st.spec.Ready
	if r == nil {
		return nil
	}
	if st.rd == nil {
		st.rd = &readyWatch{}
	}
	rd := st.rd
	extra := map[string]string{}
	if r.Notify {
		if err := c.openNotify(ctx); err != nil {
			return err
		}
		extra["NOTIFY_SOCKET"] = rd.notify.Path()
		rd.spawning = true
		st.syncNotify()
		if w := st.spec.Watchdog; w > 0 {
			extra["WATCHDOG_USEC"] = strconv.FormatInt(w.Microseconds(), 10)
			// Only the process knows its PID before it execs: the
			// trampoline sets WATCHDOG_PID.
			if sp.Settings == nil {
				sp.Settings = &proc.Settings{}
			}
			sp.Settings.WatchdogPID = true
		}
	}
	if r.FD > 0 {
		rd.closeFD()
		fd, err := probe.NewFD()
		if err != nil {
			return err
		}
		rd.fd = fd
		// After the listening sockets of socket activation (fds 3..),
		// which the configuration keeps below N.
		for len(sp.ExtraFiles) < r.FD-2 {
			sp.ExtraFiles = append(sp.ExtraFiles, -1)
		}
		if sp.ExtraFiles[r.FD-3] != -1 {
			return fmt.Errorf("notification fd %d is one of the sockets passed (fds 3 to %d)", r.FD, 2+len(st.spec.Listen))
		}
		sp.ExtraFiles[r.FD-3] = fd.WriteEnd()
	}
	for k, v := range extra {
		sp.Env = proc.SetEnv(sp.Env, k, v)
	}
	return nil
}

// openNotify binds the service's notify socket, once (again if the
// service's user changed at a reload).
func (c *controller) openNotify(ctx actor.Context) error {
	st, rd := c.st, c.st.rd
	uid, gid := os.Geteuid(), -1
	if cr := st.spec.Credentials; cr != nil {
		uid, gid = int(cr.User.UID), int(cr.GID)
	}
	if rd.notify != nil && rd.notifyUID == uid {
		return nil
	}
	if rd.notify != nil {
		rd.notify.Close()
		rd.notify = nil
	}
	if st.env.NotifyDir == "" {
		return errors.New("notify socket: the daemon has no directory for it")
	}
	if err := notify.EnsureDir(st.env.NotifyDir); err != nil {
		return err
	}
	if cr := st.spec.Credentials; cr != nil {
		if err := notify.CheckReachable(st.env.NotifyDir, cr.User.UID, cr.GID, cr.Groups); err != nil {
			return fmt.Errorf("notify socket: user %s cannot reach %s: %w", cr.User.Name, st.env.NotifyDir, err)
		}
	}
	l, err := notify.Listen(st.env.NotifyDir, st.spec.Name, uid, gid)
	if err != nil {
		return err
	}
	rd.notify, rd.notifyUID = l, uid
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	st.env.Go(func() { l.Serve(func() { send(self, &notifyWake{}) }) })
	// Serve ends when the daemon does, stopped controller or not.
	st.onLifeEnd(l.Close)
	return nil
}

// syncNotify tells the notify socket who may send now: the processes of
// the current main process, as the machine has it after each step. With
// cgroups the service's cgroup decides, daemonized children included.
func (st *ControllerState) syncNotify() {
	rd := st.rd
	if rd == nil || rd.notify == nil {
		return
	}
	uid := uint32(os.Geteuid())
	if cr := st.spec.Credentials; cr != nil {
		uid = cr.User.UID
	}
	rd.notify.SetRule(notify.Rule{UID: uid, MainPID: st.m.PID(), Session: rd.session, Spawning: rd.spawning, Cgroup: st.notifyCgroup()})
}

// notifyCgroup is the service's cgroup as /proc/PID/cgroup names it
// (relative to the cgroup2 mount), or "" without cgroups.
func (st *ControllerState) notifyCgroup() string {
	t := st.env.Cgroups
	if t == nil || !st.m.Policy().Cgroup {
		return ""
	}
	rel, err := filepath.Rel(t.Mount, t.Dir(st.spec.Name))
	if err != nil || strings.HasPrefix(rel, "..") {
		return ""
	}
	return "/" + rel
}

// onReadyMessage handles the messages of readiness.
func (c *controller) onReadyMessage(ctx actor.Context, msg any) {
	st, rd := c.st, c.st.rd
	if rd == nil {
		return
	}
	switch msg := msg.(type) {
	case *notifyWake:
		c.onNotify(ctx)
	case *fdReady:
		if msg.gen != rd.gen {
			return
		}
		if msg.err != nil {
			st.env.Logf("service %s: notification fd %d closed without a newline: %v", st.spec.Name, st.spec.Ready.FD, msg.err)
			return
		}
		c.step(ctx, lifecycle.Ready{At: time.Now()})
	case *probeTick:
		if msg.gen == rd.gen {
			c.runProbe(ctx)
		}
	case *probeDone:
		c.probeResult(ctx, msg.gen, msg.err)
	case *probeOutput:
		if x := rd.exec; x != nil && x.pid == msg.pid {
			x.output, x.gotOut = msg.output, true
			c.finishExecProbe(ctx)
		}
	case *probeTimeout:
		if x := rd.exec; x != nil && x.pid == msg.pid && !x.exited {
			x.timeout = true
			x.handle.SignalGroup(unix.SIGKILL)
		}
	}
}

// onNotify steps what the service said on its notify socket, in the
// order systemd applies a message's variables.
func (c *controller) onNotify(ctx actor.Context) {
	st, rd := c.st, c.st.rd
	if rd.notify == nil {
		return
	}
	for _, m := range rd.notify.Take() {
		if m.MainPID != 0 && m.MainPID != st.m.PID() {
			c.adoptMainPID(ctx, m.MainPID)
		}
		for _, ev := range notify.Events(m, time.Now()) {
			c.step(ctx, ev)
		}
	}
	// Refusals and malformed datagrams: logged once per batch, with the
	// last reason; status counts them all.
	s := rd.notify.Stats()
	for _, l := range s.News(rd.logged) {
		st.env.Logf("service %s: notify socket: %s", st.spec.Name, l)
	}
	rd.logged = s
}

// adoptMainPID takes MAINPID=pid as the main process if it is one of the
// service's processes, by the checks a PID file's process passes (see
// proc.Adopt), and the notify socket's (in the service's session, below
// its main process, in its cgroup).
func (c *controller) adoptMainPID(ctx actor.Context, pid int) {
	st, rd := c.st, c.st.rd
	rule := st.adoptRule()
	rule.Source = "MAINPID=" + strconv.Itoa(pid)
	a, err := proc.AdoptPID(pid, rule)
	if err == nil {
		if cerr := notify.CheckSender(unix.Ucred{Pid: int32(pid), Uid: rule.UID}, notify.Rule{UID: rule.UID, MainPID: st.m.PID(), Session: rd.session, Cgroup: st.notifyCgroup()}); cerr != nil {
			a.PIDFD.Close()
			err = fmt.Errorf("MAINPID=%d: %v", pid, cerr)
		}
	}
	if err != nil {
		if errors.Is(err, proc.ErrNoPIDYet) {
			err = fmt.Errorf("MAINPID=%d names no live process", pid)
		}
		st.env.Logf("service %s: %v; the main process stays %d", st.spec.Name, err, st.m.PID())
		return
	}
	h, err := a.Handle()
	if err != nil {
		st.env.Logf("service %s: %v", st.spec.Name, err)
	}
	st.procs[a.PID] = h
	ctx.Send(st.env.Monitor, &monitor.Adopt{Adoption: a, Owner: ctx.Self()})
	st.env.Logf("service %s: main process is now %d (MAINPID=)", st.spec.Name, pid)
	c.step(ctx, lifecycle.MainPID{PID: pid, At: time.Now()})
}

// watchReady performs WatchReady: read the notification fd, start
// probing. (sd_notify's socket is always read.)
func (c *controller) watchReady(ctx actor.Context) {
	st, rd := c.st, c.st.rd
	if rd == nil {
		return
	}
	rd.gen++
	gen := rd.gen
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	switch r := st.spec.Ready; {
	case r.FD > 0 && rd.fd != nil:
		fd := rd.fd
		st.env.Go(func() { send(self, &fdReady{gen: gen, err: fd.Wait()}) })
		rd.fdUnwatch = st.onLifeEnd(fd.Close)
	case r.Probe():
		c.runProbe(ctx)
	}
}

// unwatchReady performs UnwatchReady.
func (c *controller) unwatchReady() {
	rd := c.st.rd
	if rd == nil {
		return
	}
	rd.gen++
	rd.closeFD()
	if rd.probeTimer != nil {
		rd.probeTimer.Stop()
		rd.probeTimer = nil
	}
	if x := rd.exec; x != nil && !x.exited {
		x.handle.SignalGroup(unix.SIGKILL) // its exit still comes, and is dropped
	}
}

func (rd *readyWatch) closeFD() {
	if rd.fdUnwatch != nil {
		rd.fdUnwatch()
		rd.fdUnwatch = nil
	}
	if rd.fd != nil {
		rd.fd.Close()
		rd.fd = nil
	}
}

// runProbe runs one probe of the current watch.
func (c *controller) runProbe(ctx actor.Context) {
	st, rd := c.st, c.st.rd
	r, gen := st.spec.Ready, rd.gen
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	if len(r.Exec) > 0 {
		if rd.exec != nil {
			// The probe of an earlier watch is still being killed: try
			// again in a moment.
			rd.probeTimer = time.AfterFunc(r.Interval, func() { send(self, &probeTick{gen: gen}) })
			return
		}
		rd.probeTag++
		// As the service's user, through the monitor, like any of its
		// processes; its output is read (the reason of a failure).
		ctx.Send(st.env.Monitor, &monitor.Spawn{
			Argv: r.Exec, Env: proc.Environ(st.env.BaseEnv, st.userEnv(), st.spec.Environment), Dir: st.spec.Directory,
			Owner: self, Tag: rd.probeTag, Probe: true, Creds: st.creds(),
		})
		rd.exec = &execProbe{gen: gen, tag: rd.probeTag}
		return
	}
	st.env.Go(func() {
		pctx, cancel := st.env.Context(r.Timeout)
		defer cancel()
		send(self, &probeDone{gen: gen, err: probe.Check(pctx, r.TCP, r.HTTP)})
	})
}

// probeResult steps a probe's result, and arms the next probe after a
// failure.
func (c *controller) probeResult(ctx actor.Context, gen uint64, err error) {
	st, rd := c.st, c.st.rd
	if gen != rd.gen {
		return
	}
	if err == nil {
		c.step(ctx, lifecycle.Ready{At: time.Now()})
		return
	}
	c.step(ctx, lifecycle.ProbeFailed{Detail: err.Error(), At: time.Now()})
	if gen != rd.gen {
		return // the step ended the watch
	}
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	rd.probeTimer = time.AfterFunc(st.spec.Ready.Interval, func() { send(self, &probeTick{gen: gen}) })
}

// onProbeSpawned handles the spawn of an exec probe.
func (c *controller) onProbeSpawned(ctx actor.Context, msg *monitor.Spawned) {
	st, rd := c.st, c.st.rd
	x := rd.exec
	if x == nil || x.tag != msg.Tag {
		if msg.Err == nil { // cannot happen: one probe at a time
			msg.Handle.SignalGroup(unix.SIGKILL)
			msg.Output.Close()
		}
		return
	}
	if msg.Err != nil {
		rd.exec = nil
		c.probeResult(ctx, x.gen, msg.Err)
		return
	}
	x.pid, x.handle = msg.PID, msg.Handle
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	x.timer = time.AfterFunc(st.spec.Ready.Timeout, func() { send(self, &probeTimeout{pid: msg.PID}) })
	out := msg.Output
	st.env.Go(func() {
		b, _ := io.ReadAll(io.LimitReader(out, 4096))
		io.Copy(io.Discard, out)
		out.Close()
		send(self, &probeOutput{pid: msg.PID, output: string(b)})
	})
	if x.gen != rd.gen {
		x.handle.SignalGroup(unix.SIGKILL) // the watch ended meanwhile
	}
}

// probeExited takes the exit of an exec probe; it reports whether the
// exit was one.
func (c *controller) probeExited(ctx actor.Context, msg *monitor.Exited) bool {
	rd := c.st.rd
	if rd == nil || rd.exec == nil || rd.exec.pid != msg.PID {
		return false
	}
	rd.exec.exited, rd.exec.status = true, msg.Status
	c.finishExecProbe(ctx)
	return true
}

// finishExecProbe steps an exec probe's result once both its exit and
// its output are in.
func (c *controller) finishExecProbe(ctx actor.Context) {
	rd := c.st.rd
	x := rd.exec
	if !x.exited || !x.gotOut {
		return
	}
	rd.exec = nil
	x.timer.Stop()
	x.handle.Close()
	r := c.st.spec.Ready
	c.probeResult(ctx, x.gen, probe.ExecResult(r.Exec[0], x.status.Success(), x.status.String(), x.timeout, r.Timeout, x.output))
}

// onLifeEnd calls f when the daemon's life ends (Env.Life): a goroutine
// blocked on what f closes must not hold up the daemon's end.
func (st *ControllerState) onLifeEnd(f func()) (stop func() bool) {
	if st.env.Life == nil {
		return func() bool { return true }
	}
	return context.AfterFunc(st.env.Life, f)
}

// closeReady releases everything of readiness (the controller goes away).
func (st *ControllerState) closeReady() {
	rd := st.rd
	if rd == nil {
		return
	}
	rd.gen++
	rd.closeFD()
	if rd.probeTimer != nil {
		rd.probeTimer.Stop()
	}
	if x := rd.exec; x != nil && x.handle != nil {
		x.timer.Stop()
		x.handle.SignalGroup(unix.SIGKILL)
		x.handle.Close()
	}
	if rd.notify != nil {
		rd.notify.Close()
	}
}

// restoreReady reopens the notify socket of a service that runs after a
// re-exec: the process keeps sending to the same NOTIFY_SOCKET.
func (c *controller) restoreReady(ctx actor.Context) {
	st := c.st
	if st.rd != nil || st.spec.Ready == nil || !st.spec.Ready.Notify || st.m.PID() == 0 {
		return
	}
	st.rd = &readyWatch{}
	if sid, err := unix.Getsid(st.m.PID()); err == nil {
		st.rd.session = sid
	}
	if err := c.openNotify(ctx); err != nil {
		st.env.Logf("service %s: %v", st.spec.Name, err)
		return
	}
	st.syncNotify()
}
