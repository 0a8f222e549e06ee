package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/actors/registry"
	"github.com/shepherd-go/shepherd/internal/httpguard"
	"github.com/shepherd-go/shepherd/internal/proc"

	"github.com/shepherd-go/shepherd/actors/service"

	"github.com/shepherd-go/shepherd/actors/monitor"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"golang.org/x/sys/unix"
)

// A re-exec (herd upgrade, SIGHUP) replaces the daemon's binary in place
// (execve of the same path, so a new binary installed there takes over)
// without touching a service. The processes are the daemon's children and
// stay so across execve; what the new binary must be told is handed over
// in <state>/handover.json, named by handoverEnv:
//
//   - every service's machine (lifecycle.Saved), the definition its
//     process runs and any reloaded one pending, and the pidfd of its
//     main process (inherited);
//   - the control socket's listening fd, its lock's fd, each client
//     connection's fd with the bytes read from it but not yet served
//     (local.Server.Handover), and each output pipe's read end with the
//     part of a line the pump had read (all inherited: their
//     close-on-exec flag is cleared just before execve);
//   - the listening sockets of socket-activated services (the same
//     sockets: clients that connect meanwhile wait in their backlogs)
//     and the pidfds of their connections' processes;
//   - the newest lines of each service's output (at most
//     logger.HandedLines within logger.HandedBytes), for status and
//     log -n;
//   - how many times the daemon re-executed and when it first started.
//
// First the control socket (and libp2p's) stops taking requests, and those
// in flight are finished (streams end with an error saying why), so that
// none is left without its reply and none unread is lost: the new binary
// reads them (local.Server.Pause).
//
// Nothing may change while this is written: the reaper pauses (a child
// that exits during the handover stays a zombie until the new reaper
// collects it and routes its exit), every controller freezes at rest (a
// service in the middle of a start or stop is waited for, up to
// reexecQuiesce), the pump stops reading (unread output waits in the pipe)
// and the loggers write out what they hold.

// handoverEnv names the handover file for the new binary.
const handoverEnv = "SHEPHERD_HANDOVER"

// reexecTestGate names a file for tests: when it exists at the moment a
// re-exec has frozen everything and is about to execve, the daemon creates
// GATE.reached and waits until GATE is removed. Tests kill a service or
// signal the daemon there, to prove that what happens during the handover
// reaches the new binary.
const reexecTestGate = "SHEPHERD_TEST_REEXEC_GATE"

// reexecQuiesce bounds the wait for every service to be at rest.
const reexecQuiesce = 10 * time.Second

type handover struct {
	FirstStarted time.Time     `json:"first_started"`
	Reexecs      int           `json:"reexecs"`
	Orphans      int           `json:"orphans"`
	Retention    time.Duration `json:"retention"`
	ListenerFD   int           `json:"listener_fd"`
	// HTTPFD and MetricsFD are the listening sockets of --http and
	// --metrics (0: none, or a binary that did not hand them over).
	HTTPFD      int              `json:"http_fd,omitempty"`
	MetricsFD   int              `json:"metrics_fd,omitempty"`
	StateLockFD int              `json:"state_lock_fd"`
	Files       []string         `json:"files"`
	Specs       []*services.Spec `json:"specs"`
	// Declared are the file's numbers of instances of the groups that
	// were scaled to others (registry.Handover).
	Declared map[string]int           `json:"declared,omitempty"`
	Services map[string]service.Saved `json:"services"`
	Pipes    []savedPipe              `json:"pipes"`
	// Signals arrived during the handover; the new binary raises them
	// again once it listens for them.
	Signals []syscall.Signal `json:"signals,omitempty"`
	// LockFD is the socket's lock (local.SocketLock); 0 from a binary
	// that had none.
	LockFD int `json:"lock_fd,omitempty"`
	// Conns are the control socket's connections, for the new binary to
	// go on serving.
	Conns []savedConn `json:"conns,omitempty"`
	// Recent are the newest lines of each service's ring (for status
	// and log -n), by service: at most logger.HandedLines lines within
	// logger.HandedBytes each.
	Recent map[string][]byte `json:"recent,omitempty"`
}

// savedConn is a client's connection: its fd, and what was read from it
// but not yet served (the start of a request, at most
// local.MaxHandedBytes).
type savedConn struct {
	FD       int    `json:"fd"`
	Buffered []byte `json:"buffered,omitempty"`
}

type savedPipe struct {
	FD      int    `json:"fd"`
	Service string `json:"service"`
	// Stream: the service's stderr alone (stderr-log-file), or its output.
	Stream  proc.Stream `json:"stream,omitempty"`
	Partial []byte      `json:"partial,omitempty"`
}

// Reexec re-executes the daemon's binary, handing every service over.
// ready runs just before execve with the new re-exec count (to answer the
// client); Reexec returns only if the re-exec could not happen, and then
// the daemon goes on as before.
func (d *Daemon) Reexec(who string, ready func(reexecs int)) error {
	if !d.reexecMu.TryLock() {
		return errors.New("a re-exec is already under way, or the daemon is stopping")
	}
	defer d.reexecMu.Unlock()
	if d.shuttingDown.Load() {
		return errors.New("the daemon is stopping")
	}
	// The new binary must open the history store, which needs room: on a
	// full disk it would fail and leave the services without a daemon.
	if err := d.history.Writable(history.Reserve); errors.Is(err, history.ErrNoSpace) {
		return fmt.Errorf("cannot re-execute now: %v", err)
	}
	deadline := time.Now().Add(reexecQuiesce)
	// No request is read from now on, and those in flight are finished
	// first (the requests themselves may wait on services that are about
	// to freeze); the connections go to the new binary.
	paused := time.Now()
	if err := d.pauseServers(deadline, ready != nil); err != nil {
		return fmt.Errorf("cannot re-execute now: %w (waited up to %v for requests in flight; try again)", err, reexecQuiesce)
	}
	var saved map[string]service.Saved
	var reg registry.Handover
	var owners monitor.OwnersReply
	// Every wait for an actor ends at the deadline: a re-exec holds off
	// Shutdown, which must not hang on it.
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	for {
		var err error
		reg = registry.Handover{}
		d.pauseReaper()
		// Exits reaped before the pause reach their controllers first.
		owners, err = ask(ctx, d, d.monitor, func(ch chan<- monitor.OwnersReply) any { return &monitor.Owners{Reply: ch} })
		if err == nil {
			reg, err = ask(ctx, d, d.registry, func(ch chan<- registry.Handover) any { return &registry.HandoverInfo{Reply: ch} })
		}
		if err == nil {
			saved, err = d.freezeAll(ctx, reg.Controlled)
		}
		if err == nil {
			err = checkOwners(owners.Owners, saved, d)
		}
		if err == nil {
			break
		}
		d.thawAll(reg.Controlled)
		d.resumeReaper()
		if time.Now().After(deadline) {
			d.resumeServers()
			return fmt.Errorf("cannot re-execute now: %w (waited %v for every service to be at rest; try again)", err, reexecQuiesce)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var conns []local.HandedConn
	var taken httpguard.Taken // the HTTP listeners, for the handover
	undo := func(err error) error {
		taken.GiveBack()
		d.resumeServers()
		d.pump.Resume(d.goGo)
		d.thawAll(reg.Controlled)
		d.resumeReaper()
		d.logf("re-exec failed: %v; carrying on", err)
		return err
	}

	pipes := d.pump.Detach()
	closed := make(chan struct{}, len(reg.Loggers))
	for _, l := range reg.Loggers {
		d.system.Root.Send(l, &logger.CloseLog{Done: closed})
	}
	for range reg.Loggers {
		select {
		case <-closed:
		case <-time.After(reexecQuiesce):
			return undo(errors.New("a service's logger did not write out its log"))
		}
	}
	// The loggers hold every line the pump read: hand the newest over.
	recent := make(chan logger.SavedRecent, len(reg.Loggers))
	for _, l := range reg.Loggers {
		d.system.Root.Send(l, &logger.SaveRecent{Lines: logger.HandedLines, Bytes: logger.HandedBytes, Reply: recent})
	}
	handedRecent := map[string][]byte{}
	for range reg.Loggers {
		select {
		case r := <-recent:
			if len(r.Data) > 0 {
				handedRecent[r.Name] = r.Data
			}
		case <-time.After(reexecQuiesce):
			return undo(errors.New("a service's logger did not give its recent lines"))
		}
	}
	byLogger := map[string]string{}
	for name, l := range reg.Loggers {
		byLogger[l.Id] = name
	}
	lnFile, err := d.ln.File() // a duplicate, to be inherited
	if err != nil {
		return undo(fmt.Errorf("control socket: %w", err))
	}
	defer lnFile.Close()
	// The HTTP API's and the metrics' listening sockets: they stop
	// accepting, the requests in flight end, and a client or a scrape
	// that connects meanwhile waits in the backlog for the new binary
	// rather than being refused.
	defer taken.Close()
	httpFile, err := taken.Take("--http", d.http.Detach, d.http.Reattach, d.logf)
	if err != nil {
		return undo(err)
	}
	metricsFile, err := taken.Take("--metrics", d.metrics.Detach, d.metrics.Reattach, d.logf)
	if err != nil {
		return undo(err)
	}
	if conns, err = d.server.Handover(); err != nil {
		return undo(fmt.Errorf("control socket: %w", err))
	}
	defer func() {
		for _, c := range conns {
			c.File.Close()
		}
	}()
	ho := handover{
		FirstStarted: d.started, Reexecs: d.reexecs + 1, Orphans: owners.Orphans, Retention: d.opts.HistoryRetention,
		ListenerFD: fdOf(lnFile), StateLockFD: int(d.stateLock.Fd()), Files: reg.Files, Specs: reg.Specs, Declared: reg.Declared, Services: saved,
		Recent: handedRecent, HTTPFD: fdOf(httpFile), MetricsFD: fdOf(metricsFile),
	}
	ho.LockFD = d.socketLock.Fd()
	inherit := []int{ho.ListenerFD, ho.LockFD, ho.StateLockFD}
	for _, f := range taken.Files {
		inherit = append(inherit, fdOf(f))
	}
	for _, c := range conns {
		ho.Conns = append(ho.Conns, savedConn{FD: fdOf(c.File), Buffered: c.Buffered})
		inherit = append(inherit, fdOf(c.File))
	}
	for _, p := range pipes {
		ho.Pipes = append(ho.Pipes, savedPipe{FD: p.FD, Service: byLogger[p.Owner.(*actor.PID).Id], Stream: p.Stream, Partial: p.Partial})
		inherit = append(inherit, p.FD)
	}
	// The handles on the main processes (pidfds): the new binary signals
	// them through these, never by a PID that may meanwhile be reused.
	for _, sv := range saved {
		if sv.PIDFD > 0 {
			inherit = append(inherit, sv.PIDFD)
		}
		// Listening sockets (the same ones: no connection is refused
		// meanwhile) and the handles on connections' processes.
		inherit = append(inherit, sv.InheritFDs()...)
	}
	b, err := json.Marshal(ho)
	if err != nil {
		return undo(fmt.Errorf("handover: %w", err))
	}
	path := filepath.Join(d.opts.StateDir, "handover.json")
	if err := proc.WriteFileAtomic(path, b, 0o600); err != nil {
		return undo(fmt.Errorf("handover: %w", err))
	}
	// A synced event also makes every event before it durable.
	d.record(true, history.Event{Kind: history.KindDaemonReexec, PID: os.Getpid(), Who: who,
		Message: fmt.Sprintf("re-exec %d: %d services, %d processes, %d output pipes", ho.Reexecs, len(saved), len(owners.Owners), len(pipes))})
	d.logf("re-executing %s (re-exec %d, asked by %s): %d services, %d processes, %d output pipes, %d connections (requests held for %v)",
		d.self, ho.Reexecs, who, len(saved), len(owners.Owners), len(pipes), len(conns), time.Since(paused).Round(time.Millisecond))
	d.flushLog()
	if gate := os.Getenv(reexecTestGate); gate != "" {
		waitAtGate(gate)
	}
	if d.shuttingDown.Load() {
		os.Remove(path)
		return undo(errors.New("the daemon is stopping"))
	}
	if ready != nil {
		ready(ho.Reexecs)
	}
	env := append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, handoverEnv+"=") }), handoverEnv+"="+path)
	err = d.exec(path, &ho, env, inherit)
	os.Remove(path)
	return undo(fmt.Errorf("execve %s: %w", d.self, err))
}

// handedSignals are the daemon's own signals (TERM, INT, HUP): those that
// arrive during a re-exec must reach the new binary, not vanish with the
// old one's memory or kill the new one before it listens for them.
var handedSignals = []syscall.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP}

// exec replaces the process, the fds in inherit passed on (close-on-exec
// cleared, and set again should execve fail). The signals the command
// line has received
// but not yet acted on go into the handover; the exec'ing thread blocks
// the daemon's signals, so that the new binary starts with them blocked
// and any that arrive are kept pending by the kernel until it listens.
// What remains is the few microseconds between the last look at the
// received signals and execve, in which another thread may take one.
func (d *Daemon) exec(path string, ho *handover, env []string, inherit []int) error {
	for _, fd := range inherit {
		proc.SetCloseOnExec(fd, false)
	}
	defer func() {
		for _, fd := range inherit {
			proc.SetCloseOnExec(fd, true)
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	for _, s := range handedSignals {
		set.Val[(s-1)/64] |= 1 << ((uint(s) - 1) % 64)
	}
	unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old)
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	if d.opts.PendingSignals != nil {
		if ho.Signals = d.opts.PendingSignals(); len(ho.Signals) > 0 {
			b, err := json.Marshal(ho)
			if err == nil {
				err = proc.WriteFileAtomic(path, b, 0o600)
			}
			if err != nil {
				return err
			}
		}
	}
	return syscall.Exec(d.self, os.Args, env)
}

func waitAtGate(gate string) {
	if _, err := os.Stat(gate); err != nil {
		return
	}
	os.WriteFile(gate+".reached", nil, 0o600)
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(gate); err != nil {
			break
		}
	}
	os.Remove(gate + ".reached")
}

// InheritedSignals are the signals that arrived during the re-exec that
// started this process, for the command line to act on.
func (d *Daemon) InheritedSignals() []syscall.Signal { return d.inheritedSignals }

// freezeAll freezes every controller; on the first that is not at rest,
// or once ctx ends, it returns why (the caller thaws them all).
func (d *Daemon) freezeAll(ctx context.Context, names []string) (map[string]service.Saved, error) {
	replies := make(chan service.Frozen, len(names))
	for _, n := range names {
		d.system.Root.Send(d.controllerPID(n), &service.Freeze{Reply: replies})
	}
	saved := make(map[string]service.Saved, len(names))
	var errs []error
	for range names {
		var f service.Frozen
		select {
		case f = <-replies:
		case <-ctx.Done():
			return nil, fmt.Errorf("%d services did not say whether they are at rest", len(names)-len(saved)-len(errs))
		}
		if f.Err != nil {
			errs = append(errs, f.Err)
			continue
		}
		saved[f.Name] = f.Saved
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
		return nil, errs[0]
	}
	return saved, nil
}

func (d *Daemon) thawAll(names []string) {
	for _, n := range names {
		d.system.Root.Send(d.controllerPID(n), &service.Thaw{})
	}
}

// checkOwners makes sure the monitor knows of no process but the services'
// main processes: anything else (a hook, an action) would lose its owner.
func checkOwners(owners map[int]*actor.PID, saved map[string]service.Saved, d *Daemon) error {
	for pid, owner := range owners {
		name := strings.TrimPrefix(owner.Id, d.registry.Id+"/svc:")
		if s, ok := saved[name]; !ok || s.Machine.PID != pid && !slices.Contains(s.ConnPIDs(), pid) {
			return fmt.Errorf("process %d of %s is not its main process", pid, name)
		}
	}
	return nil
}

// readHandover reads and removes the handover file named by handoverEnv,
// if any, and removes the variable so that services do not inherit it.
func readHandover() (*handover, error) {
	path := os.Getenv(handoverEnv)
	if path == "" {
		return nil, nil
	}
	os.Unsetenv(handoverEnv)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("re-exec handover: %w", err)
	}
	os.Remove(path)
	var ho handover
	if err := json.Unmarshal(b, &ho); err != nil {
		return nil, fmt.Errorf("re-exec handover %s: %w", path, err)
	}
	return &ho, nil
}

// inheritedListener is the control socket handed over by a re-exec.
func inheritedListener(fd int) (*net.UnixListener, error) {
	f := os.NewFile(uintptr(fd), "control socket")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("re-exec handover: control socket: %w", err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("re-exec handover: fd %d is not a unix socket", fd)
	}
	// Our Shutdown removes the socket file itself.
	ul.SetUnlinkOnClose(false)
	return ul, nil
}

// pauseServers stops the control socket (and libp2p's) from taking
// requests and waits for those in flight (local.Server.Pause); with
// upgrade, the one upgrade request that asks for this is left in flight.
func (d *Daemon) pauseServers(deadline time.Time, upgrade bool) error {
	var exempt func(wire.Request) bool
	if upgrade {
		exempt = func(r wire.Request) bool { return r.Action == "upgrade" && r.Service == "" }
	}
	if err := d.server.Pause(deadline, exempt); err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	// A network caller cannot ask for a re-exec: nothing is exempt.
	if d.netServer != nil {
		if err := d.netServer.Pause(deadline, nil); err != nil {
			d.server.Resume()
			return fmt.Errorf("libp2p: %w", err)
		}
	}
	return nil
}

func (d *Daemon) resumeServers() {
	d.server.Resume()
	if d.netServer != nil {
		d.netServer.Resume()
	}
}

// adoptConns goes on serving the connections a re-exec handed over.
func (d *Daemon) adoptConns(conns []savedConn) {
	for _, c := range conns {
		if err := d.server.Adopt(os.NewFile(uintptr(c.FD), "control connection"), c.Buffered); err != nil {
			d.logf("re-exec: control connection (fd %d) dropped: %v", c.FD, err)
		}
	}
}

// fdOf is f's descriptor (0 for none). Unlike f.Fd, it leaves the
// descriptor non-blocking: it is shared with a socket the daemon goes on
// serving should the execve fail.
func fdOf(f *os.File) int {
	if f == nil {
		return 0
	}
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(u uintptr) { fd = int(u) })
	}
	return fd
}

// inheritedSocketLock is the socket's lock handed over by a re-exec, or
// taken now if the binary before us had none.
func inheritedSocketLock(ho *handover, socket string) (*local.SocketLock, error) {
	if ho.LockFD == 0 {
		return local.LockSocket(socket)
	}
	l, err := local.InheritedLock(ho.LockFD, socket)
	if err != nil {
		return nil, fmt.Errorf("re-exec handover: %w", err)
	}
	return l, nil
}
