package monitor

import (
	"fmt"
	"maps"
	"os"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services/lifecycle"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
)

// Spawn asks the monitor to start a process for Owner. The monitor
// answers Owner with Spawned, and later with Exited.
type Spawn struct {
	Argv  []string
	Env   []string
	Dir   string
	Owner *actor.PID
	// Tag, Action and Hook are echoed back so the owner can tell its
	// spawns apart.
	Tag    uint64
	Action bool
	Hook   bool
	// Logger, when set, receives the output through the pump; otherwise
	// Spawned carries the pipe's read end.
	Logger *actor.PID
	// Creds, when set, is who the process runs as.
	Creds *proc.Creds
	// Settings, when set, are applied by the trampoline before it execs
	// the command (Path is filled in by the monitor).
	Settings *proc.Settings
	// Socket activation: ExtraFiles are passed as fds 3, 4, ...; Conn
	// (echoed back) marks the process of an inetd-style connection, whose
	// Stdin and Stdout are the connection (the owner keeps them open until
	// Spawned, then closes them). Nil Stdin is /dev/null.
	ExtraFiles    []int
	Conn          bool
	Stdin, Stdout *os.File
	// Cgroup, when set, is the cgroup the process starts in (at fork).
	Cgroup string
	// Probe, as Action and Hook, is echoed back: a readiness probe.
	Probe bool
	// SplitStderr (with Logger): stderr goes through a pipe of its own,
	// whose chunks are proc.StreamErr (stderr-log-file).
	SplitStderr bool
}

// Spawned answers Spawn. Output, for a spawn without a Logger, is
// the read end of the pipe that carries the child's stdout and stderr
// (pollable: Close ends a Read in progress); the owner must drain and
// close it.
type Spawned struct {
	Tag    uint64
	Action bool
	Hook   bool
	Conn   bool
	Probe  bool
	PID    int
	// Handle refers to the process itself, so that a signal never
	// reaches another that reuses its PID once it is reaped; the owner
	// closes it once it has handled the process's exit.
	Handle *proc.Handle
	Output *os.File
	At     time.Time
	// StartTicks is bootTicks just before the fork: a process the child
	// forks has a start time (in /proc) at least this.
	StartTicks uint64
	Err        error
}

// Exited reports that a process the owner spawned was reaped.
type Exited struct {
	PID     int
	Status  lifecycle.ExitStatus
	At      time.Time
	MaxRSS  int64 // kilobytes
	CPUTime time.Duration
}

// Adopt makes Owner the owner of a process the daemon did not spawn
// directly (the daemonized child named by a PID file). If that process was
// already reaped as an orphan, its exit is sent at once. A process that is
// not the daemon's child is not reaped by it: its pidfd is watched for its
// exit (see watchExit); the monitor owns PIDFD from now on.
type Adopt struct {
	proc.Adoption
	Owner *actor.PID
}

// Disown makes the monitor forget a process its owner gave up on (it
// outlived SIGKILL): its exit, if ever reaped, is an orphan's.
type Disown struct{ PID int }

// watchedExit reports that a watched pidfd became readable: the process
// ended. Zombie and Parent are what /proc said of it then.
type watchedExit struct {
	PID    int
	File   *os.File
	Zombie bool
	Parent int
	Status unix.WaitStatus
}

// Owners asks which process belongs to whom (for a re-exec).
type Owners struct{ Reply chan<- OwnersReply }

// OwnersReply answers Owners.
type OwnersReply struct {
	Owners  map[int]*actor.PID
	Orphans int
}

// Restore gives the monitor the processes of a restored daemon.
type Restore struct {
	Owners  map[int]*actor.PID
	Orphans int
	Done    chan<- struct{}
}

// Stats asks for the monitor's counters.
type Stats struct{ Reply chan<- Counters }

// Counters are the process monitor's counters.
type Counters struct {
	Children int
	Orphans  int
}

// monitorState outlives any one incarnation of the monitor actor: a restart
// after a panic must not forget which process belongs to whom.
type monitorState struct {
	owners map[int]*actor.PID
	// paths caches PATH lookups ("PATH\x00file" -> path); an entry is
	// dropped when exec of it fails, so a moved binary is found again.
	paths   map[string]string
	orphans int
	devNull *os.File
	self    string // this binary, for the trampoline
	pump    *proc.Pump
	logf    func(string, ...any)
	// replies holds Spawned answers until the spawns queued behind
	// them are done (see flushReplies).
	replies []ownedReply
	// orphanExits keeps the last exits of unowned processes, for an
	// proc.Adoption that comes after the exit.
	orphanExits map[int]proc.Exit
	orphanOrder []int
	// watches are the pidfds of adopted processes that are not our
	// children, by PID.
	watches map[int]*os.File
	goGo    func(func())
}

type ownedReply struct {
	owner *actor.PID
	msg   *Spawned
}

// flushReplies sends the queued Spawned answers. A burst of starts is
// forked back to back and answered afterwards: a child runs before its
// exec on whatever core is free, and owners handling answers on the other
// core in between slowed every fork by half (a busy second core makes a
// bare fork/exec loop five times slower on this 2-core machine).
type flushReplies struct{}

// monitor is the process monitor: it alone starts processes and receives
// every reaped exit, so a PID is in its table before its exit can be
// dispatched (both arrive through this one mailbox).
type monitor struct{ st *monitorState }

// Env is what the monitor needs of the daemon.
type Env struct {
	// Pump reads the output of processes spawned with a Logger.
	Pump *proc.Pump
	// Go runs f on an accounted goroutine; Logf writes to the daemon log.
	Go   func(f func())
	Logf func(format string, args ...any)
}

// NewProps makes the process monitor. Every exit the reaper collects must
// be sent to it (a proc.Exit), in reaping order.
func NewProps(env Env) (*actor.Props, error) {
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the shepherd binary: %w", err)
	}
	st := &monitorState{owners: make(map[int]*actor.PID), paths: map[string]string{}, devNull: devNull, self: self, pump: env.Pump, logf: env.Logf,
		watches: map[int]*os.File{}, goGo: env.Go}
	return actor.PropsFromProducer(func() actor.Actor { return &monitor{st: st} }), nil
}

func (m *monitor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *Spawn:
		// Stamped before the fork: the exit, stamped by the reaper, can
		// come within microseconds and must not precede the start.
		at, ticks := time.Now(), proc.BootTicks()
		pid, h, out, err := m.spawn(ctx, msg)
		if err == nil {
			m.st.owners[pid] = msg.Owner
		}
		if len(m.st.replies) == 0 {
			ctx.Send(ctx.Self(), &flushReplies{})
		}
		m.st.replies = append(m.st.replies, ownedReply{msg.Owner, &Spawned{Tag: msg.Tag, Action: msg.Action, Hook: msg.Hook, Conn: msg.Conn, Probe: msg.Probe, PID: pid, Handle: h, Output: out, At: at, StartTicks: ticks, Err: err}})
	case *flushReplies:
		m.flush(ctx)
	case proc.Exit:
		// An owner hears of its process's start before of its exit.
		m.flush(ctx)
		owner, ok := m.st.owners[msg.PID]
		if !ok {
			m.st.orphans++
			m.st.logf("reaped orphan process %d (%s)", msg.PID, exitStatusOf(msg.Status))
			m.keepOrphanExit(msg)
			return
		}
		delete(m.st.owners, msg.PID)
		m.unwatch(msg.PID)
		ctx.Send(owner, procExitedOf(msg))
	case *Adopt:
		if e, ok := m.st.orphanExits[msg.PID]; ok {
			delete(m.st.orphanExits, msg.PID)
			msg.PIDFD.Close()
			ctx.Send(msg.Owner, procExitedOf(e))
			return
		}
		m.st.owners[msg.PID] = msg.Owner
		if msg.Child {
			msg.PIDFD.Close() // the reaper will see its exit
			return
		}
		m.watchExit(ctx, msg.PID, msg.PIDFD)
	case *watchedExit:
		m.onWatchedExit(ctx, msg)
	case *Disown:
		delete(m.st.owners, msg.PID)
		m.unwatch(msg.PID)
	case *actor.Stopping:
		for pid := range m.st.watches {
			m.unwatch(pid)
		}
	case *Stats:
		msg.Reply <- Counters{Children: len(m.st.owners), Orphans: m.st.orphans}
	case *Owners:
		m.flush(ctx)
		msg.Reply <- OwnersReply{Owners: maps.Clone(m.st.owners), Orphans: m.st.orphans}
	case *Restore:
		maps.Copy(m.st.owners, msg.Owners)
		m.st.orphans = msg.Orphans
		// Watches do not survive an execve: watch again the processes
		// that are not our children.
		for pid := range msg.Owners {
			m.rewatch(ctx, pid)
		}
		close(msg.Done)
	}
}

// watchExit waits, in a goroutine, for the adopted process pidfd refers to
// to end, then reports it to the monitor. The daemon reaps its own
// children only: an adopted process whose parent is another process (the
// launcher that stayed, a subreaper of the service's own) ends without a
// SIGCHLD for us, and a stop that waited for that would wait forever.
func (m *monitor) watchExit(ctx actor.Context, pid int, pidfd *os.File) {
	m.unwatch(pid)
	m.st.watches[pid] = pidfd
	send, self := ctx.ActorSystem().Root.Send, ctx.Self()
	m.st.goGo(func() {
		rc, err := pidfd.SyscallConn()
		if err == nil {
			err = rc.Read(func(fd uintptr) bool {
				// A pidfd is readable once its process has ended.
				pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				n, _ := unix.Poll(pfd, 0)
				return n > 0
			})
		}
		if err != nil {
			return // closed: the watch was cancelled
		}
		// Look at once, before its parent reaps it: a zombie still tells
		// its wait status.
		w := &watchedExit{PID: pid, File: pidfd}
		if p, err := proc.ReadProcStat(pid); err == nil && p.State == 'Z' {
			w.Zombie, w.Parent, w.Status = true, p.PPID, unix.WaitStatus(p.ExitCode)
		}
		send(self, w)
	})
}

func (m *monitor) onWatchedExit(ctx actor.Context, w *watchedExit) {
	if m.st.watches[w.PID] != w.File {
		return // cancelled since
	}
	m.unwatch(w.PID)
	owner, ok := m.st.owners[w.PID]
	if !ok {
		return
	}
	if w.Zombie && w.Parent == os.Getpid() {
		return // re-parented to us since: the reaper reports it
	}
	delete(m.st.owners, w.PID)
	exit := &Exited{PID: w.PID, At: time.Now(), Status: lifecycle.ExitStatus{Unknown: true}}
	if w.Zombie {
		exit.Status = exitStatusOf(w.Status)
	}
	ctx.Send(owner, exit)
}

// unwatch ends the watch of pid, if any.
func (m *monitor) unwatch(pid int) {
	if f, ok := m.st.watches[pid]; ok {
		delete(m.st.watches, pid)
		f.Close()
	}
}

// rewatch watches a restored process that is not our child; one that is
// already gone (and not ours to reap) ends at once, status unknown.
func (m *monitor) rewatch(ctx actor.Context, pid int) {
	p, err := proc.ReadProcStat(pid)
	if err == nil && p.PPID == os.Getpid() {
		return
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		if owner, ok := m.st.owners[pid]; ok {
			delete(m.st.owners, pid)
			ctx.Send(owner, &Exited{PID: pid, At: time.Now(), Status: lifecycle.ExitStatus{Unknown: true}})
		}
		return
	}
	m.watchExit(ctx, pid, os.NewFile(uintptr(fd), "pidfd "+strconv.Itoa(pid)))
}

func procExitedOf(e proc.Exit) *Exited {
	return &Exited{
		PID: e.PID, Status: exitStatusOf(e.Status), At: e.At,
		MaxRSS:  e.Rusage.Maxrss,
		CPUTime: time.Duration(e.Rusage.Utime.Nano() + e.Rusage.Stime.Nano()),
	}
}

func (m *monitor) keepOrphanExit(e proc.Exit) {
	st := m.st
	if st.orphanExits == nil {
		st.orphanExits = map[int]proc.Exit{}
	}
	st.orphanExits[e.PID] = e
	st.orphanOrder = append(st.orphanOrder, e.PID)
	if len(st.orphanOrder) > 256 {
		delete(st.orphanExits, st.orphanOrder[0])
		st.orphanOrder = st.orphanOrder[1:]
	}
}

func (m *monitor) flush(ctx actor.Context) {
	for _, r := range m.st.replies {
		ctx.Send(r.owner, r.msg)
	}
	m.st.replies = m.st.replies[:0]
}

func exitStatusOf(ws unix.WaitStatus) lifecycle.ExitStatus {
	if ws.Signaled() {
		return lifecycle.ExitStatus{Signal: ws.Signal()}
	}
	return lifecycle.ExitStatus{Code: ws.ExitStatus()}
}

// spawn starts argv in a new session (so its group can be signalled as a
// whole) with stdin on /dev/null and stdout/stderr on a fresh pipe.
func (m *monitor) spawn(ctx actor.Context, req *Spawn) (int, *proc.Handle, *os.File, error) {
	key := proc.EnvPath(req.Env) + "\x00" + req.Argv[0]
	path, ok := m.st.paths[key]
	if !ok {
		var err error
		if path, err = proc.LookPath(req.Argv[0], proc.EnvPath(req.Env)); err != nil {
			return 0, nil, nil, err
		}
		m.st.paths[key] = path
	}
	stdin := req.Stdin
	if stdin == nil {
		stdin = m.st.devNull
	}
	errR := -1
	var errW *os.File
	if req.SplitStderr && req.Logger != nil {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			return 0, nil, nil, fmt.Errorf("create stderr pipe: %w", err)
		}
		errR, errW = p[0], os.NewFile(uintptr(p[1]), "stderr pipe")
	}
	pid, r, h, err := proc.Start(proc.Spec{
		Path: path, Argv: req.Argv, Env: req.Env, Dir: req.Dir, Creds: req.Creds,
		Settings: req.Settings, Trampoline: m.st.self, Stdin: stdin, Stdout: req.Stdout, Stderr: errW, ExtraFiles: req.ExtraFiles, Cgroup: req.Cgroup,
	})
	if errW != nil {
		// The child holds its own copy; ours would keep the pipe open.
		errW.Close()
	}
	if err != nil {
		if errR >= 0 {
			unix.Close(errR)
		}
		delete(m.st.paths, key)
		return 0, nil, nil, err
	}
	if req.Logger == nil {
		// Non-blocking, so that the file is pollable: its owner can end
		// a read that a process left behind would hold forever, by
		// closing it.
		if err := unix.SetNonblock(r, true); err != nil {
			m.st.logf("output of process %d: %v", pid, err)
		}
		return pid, h, os.NewFile(uintptr(r), "output of "+req.Argv[0]), nil
	}
	stream := proc.StreamOut
	if req.Stdout != nil {
		stream = proc.StreamErr // stdout is the connection
	}
	m.pumpTo(ctx, req.Logger, pid, r, stream)
	if errR >= 0 {
		m.pumpTo(ctx, req.Logger, pid, errR, proc.StreamErr)
	}
	return pid, h, nil, nil
}

// pumpTo hands the read end r of a process's pipe to the pump, for
// logger.
func (m *monitor) pumpTo(ctx actor.Context, logger *actor.PID, pid, r int, stream proc.Stream) {
	// Tell the logger before the pump can report EOF, so it counts the
	// pipe open before it sees it closed.
	ctx.Send(logger, &proc.Opened{})
	err := unix.SetNonblock(r, true)
	if err == nil {
		err = m.st.pump.Add(r, logger, stream)
	}
	if err != nil {
		unix.Close(r)
		ctx.Send(logger, &proc.Closed{})
		m.st.logf("cannot capture the output of process %d: %v", pid, err)
	}
}
