package daemon

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/daemon/sections"
	"github.com/shepherd-go/shepherd/services/config"

	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/actors/registry"

	"github.com/shepherd-go/shepherd/actors/proxy"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/actors/timer"

	"github.com/shepherd-go/shepherd/actors/caretaker"

	"github.com/shepherd-go/shepherd/actors/monitor"

	"github.com/shepherd-go/shepherd/actors/historian"

	"github.com/shepherd-go/shepherd/internal/activation"
	"github.com/shepherd-go/shepherd/internal/cgroup"
	"github.com/shepherd-go/shepherd/internal/filexfer"
	"github.com/shepherd-go/shepherd/internal/httpguard"
	"github.com/shepherd-go/shepherd/internal/identity"
	"github.com/shepherd-go/shepherd/internal/leftover"
	"github.com/shepherd-go/shepherd/internal/memory"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/internal/statedir"
	"github.com/shepherd-go/shepherd/metrics"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/jobbook"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/history/fleetruns"
	"github.com/shepherd-go/shepherd/history/fleetsnapshots"
	"github.com/shepherd-go/shepherd/httpapi"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/p2p"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"golang.org/x/sys/unix"
)

// Options configure a Daemon. The zero value of each field is documented.
type Options struct {
	// ConfigPath is the services file or directory. Empty: no services.
	ConfigPath string
	// SocketPath is the control socket. Required.
	SocketPath string
	// StateDir holds logs (and later history). Required.
	StateDir string
	// PIDFile, when set, receives the daemon's PID once the socket listens.
	PIDFile string
	// Insecure skips the ownership and mode checks of the socket
	// directory and of the state directory.
	Insecure bool
	// SocketMode and SocketGroup open the socket to other local users.
	// Zero mode leaves the default; SocketGroup -1 leaves the group.
	SocketMode  os.FileMode
	SocketGroup int
	// Log receives the daemon's own log lines (timestamps added). Default
	// os.Stderr.
	Log io.Writer
	// HistoryRetention is how long events are kept. Default 30 days.
	HistoryRetention time.Duration
	// Listen are libp2p multiaddrs to serve the control protocol on (to
	// capability holders only). None: no listening, calls out only.
	Listen []string
	// PSK, when set (32 bytes), confines libp2p to a private network.
	PSK []byte
	// RemoteCallTimeout bounds each call to another daemon. Default 10s.
	RemoteCallTimeout time.Duration
	// NotSubreaper leaves orphans of services to init rather than making
	// the daemon their reaper: for a daemon run inside a test binary,
	// which must not become the subreaper of the whole test run.
	NotSubreaper bool
	// PendingSignals, when set, returns the signals received but not yet
	// acted on; a re-exec hands them to the new binary (InheritedSignals).
	PendingSignals func() []syscall.Signal
	// NotifyDir holds the sd_notify sockets of services with `ready:
	// notify`. Default: the control socket's directory with "-notify"
	// appended (/run/shepherd-notify beside /run/shepherd): the socket's
	// own directory is 0700, which a service of another user cannot
	// enter (docs/design-notes.md).
	NotifyDir string
	// Cgroup is the root cgroup of the services (`--cgroup DIR`; empty:
	// the default, see internal/cgroup); NoCgroup forces the fallback.
	Cgroup   string
	NoCgroup bool
	// SyslogSocket is the system log's socket for services with `log:
	// syslog` or `both`. Default /dev/log.
	SyslogSocket string
	// HTTP is the HTTP API (`--http`; httpapi). Zero: none.
	HTTP    httpapi.Options
	Metrics metrics.Options // where /metrics is served (`--metrics`); zero: nowhere
}

// Daemon is a running shepherd: the actor system, the reaper and the
// control socket.
type Daemon struct {
	opts   Options
	system *actor.ActorSystem
	root   *actor.PID // the shepherd (coordinator) actor
	// registry and monitor are set once at start and then only read.
	registry  *actor.PID
	files     *filexfer.Server // herd fleet push and pull
	monitor   *actor.PID
	historian *actor.PID
	caretaker *actor.PID
	history   *history.Store
	accounts  config.Accounts
	peerID    string
	baseEnv   map[string]string
	server    *local.Server
	pump      *proc.Pump
	// poller watches the sockets of socket-activated services.
	poller *activation.Poller
	// cgroups is the services' root cgroup (nil: none, for cgroupOff).
	cgroups               *cgroup.Tree
	cgroupMode, cgroupOff string

	log     io.Writer // written only by logLoop
	logMu   sync.Mutex
	logBuf  []byte // guarded by logMu
	logKick chan struct{}
	logDone chan struct{}
	logExit chan struct{}
	logOnce sync.Once

	wg sync.WaitGroup
	// goMu guards goStopped: goGo refuses once Shutdown waits on wg.
	goMu      sync.Mutex
	goStopped bool
	// life ends when Shutdown is about to wait for the goroutines of
	// goGo: those that wait for something select on it (service.Env.Life).
	life       context.Context
	endLife    context.CancelFunc
	stopOnce   sync.Once
	stopReap   chan struct{}
	done       chan struct{}
	retainTick *time.Ticker
	exitReq    chan ExitKind
	started    time.Time
	uid        int

	fleetRuns *fleetruns.Book
	snapshots *fleetsnapshots.Book // herd fleet snapshot
	sections  *sections.Sections   // notify, jobs, monitors, collect; facts and query
	jobs      *jobbook.Book
	timers    *timer.Board // herd timers, trigger, schedule
	key       ed25519.PrivateKey
	netMu     sync.Mutex
	net       *p2p.Host // guarded by netMu; nil until listening or first dialing
	netServer *local.Server
	http      *httpapi.Server // nil without --http
	ln        *net.UnixListener
	self      string // this binary, which a re-exec executes again
	reexecMu  sync.Mutex
	// shuttingDown makes a re-exec give up: the daemon is stopping.
	shuttingDown atomic.Bool
	reexecs      int // how many re-execs this daemon has been through
	reapPause    chan chan struct{}
	// reapResume resumes a paused reaper (used under reexecMu).
	reapResume chan struct{}
	// inheritedSignals arrived during the re-exec that started us.
	inheritedSignals []syscall.Signal
	// socketLock makes the socket ours, for our life and our re-execs.
	socketLock *local.SocketLock
	// stateLock is held (flock) for the daemon's life, re-execs included:
	// a second daemon on the same state directory is told who holds it.
	stateLock *os.File
	metrics   *metrics.Metrics
}

// Start loads the configuration, starts the actors, the reaper and the
// control socket, then starts the auto-start services. An invalid
// configuration returns services.ErrorList and starts nothing.
func Start(opts Options) (_ *Daemon, err error) {
	specs, ho, err := startingPoint(&opts)
	if err != nil {
		return nil, err
	}
	d, err := newDaemon(opts, ho)
	if err != nil {
		return nil, err
	}
	// Until the daemon runs, each step that holds something says how to
	// let it go; a failure lets go of all of it, newest first.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	go d.logLoop()
	undo = append(undo, d.stopLog)
	if err := d.openState(ho, &undo); err != nil {
		return nil, err
	}
	if err := d.listen(ho, &undo); err != nil {
		return nil, err
	}
	if err := d.startActors(ho, &undo); err != nil {
		return nil, err
	}
	d.jobs = jobbook.New(jobbook.Env{Store: d.history, Put: d.putRecord, Record: func(e history.Event) { d.record(false, e) }, Logf: d.logf, Root: d.system.Root, Caretaker: d.caretaker})
	// From here on the daemon runs: Shutdown stops whatever has started.
	undo = []func(){d.Shutdown}
	d.sections = sections.New(sections.Env{ConfigPath: d.opts.ConfigPath, Accounts: d.accounts, Store: d.history, System: d.system, Historian: d.historian, Monitor: d.monitor, Go: d.goGo, Life: d.life, Logf: d.logf, Jobs: d.jobs,
		Environ: proc.Environ(d.baseEnv), Dial: d.dialOut, CallTimeout: d.opts.RemoteCallTimeout, Retention: d.opts.HistoryRetention})
	d.serve(ho)
	if len(d.opts.Listen) > 0 {
		if err := d.startNetwork(); err != nil {
			return nil, err
		}
	}
	var httpLn net.Listener
	if ho != nil {
		if d.opts.Metrics.Listener, err = httpguard.Inherited(ho.MetricsFD, "--metrics"); err != nil {
			return nil, err
		}
		if d.opts.HTTP.Enabled() {
			if httpLn, err = httpguard.Inherited(ho.HTTPFD, "--http"); err != nil {
				return nil, err
			}
		}
	}
	if d.metrics, err = metrics.Start(d.opts.Metrics, metrics.Env{Root: d.system.Root, Registry: d.registry, Historian: d.historian, Caretaker: d.caretaker, Store: d.history, Cgroups: d.cgroups, PeerID: d.peerID, Go: d.goGo, Logf: d.logf}); err != nil {
		return nil, err
	}
	if err := d.sections.Start(); err != nil { // notify, jobs, monitors, collect
		return nil, err
	}
	d.announce(ho, specs)
	d.startHousekeeping()
	if ho == nil {
		res := make(chan registry.RegisterResult, 1)
		// What the user said (disable, scale) before the daemon ended,
		// before the leftovers of its services are judged by it.
		boot := registry.BootIntent(d.history, specs, d.logf)
		d.system.Root.Send(d.registry, &registry.Register{Specs: boot.Specs, AutoStart: true, Reply: res, Intent: boot, Leftovers: leftover.Recover(leftover.Inputs{Store: d.history, Specs: leftover.ByName(boot.Specs), UID: uint32(d.uid), Logf: d.logf, Tree: d.cgroups, Life: d.life})})
		if r := <-res; r.Err != nil {
			return nil, r.Err
		}
		d.registerImports()
	}
	if d.opts.HTTP.Enabled() && d.opts.HTTP.Metrics == nil { // httpapi asks the admin capability for it
		d.opts.HTTP.Metrics = metrics.NewHandler(d.metrics, metrics.HandlerOptions{Public: true})
	}
	if d.http, err = httpapi.Start(httpapi.Config{Options: d.opts.HTTP, Handler: &api{d}, Root: d.system.Root,
		Caretaker: d.caretaker, PeerID: d.peerID, Owner: uint32(d.uid), Logf: d.logf, Listener: httpLn}); err != nil {
		return nil, err
	}
	// The PID file says the daemon is ready: its services are known, so
	// that a script that waits for it can name them at once.
	if d.opts.PIDFile != "" {
		if err := proc.WriteFileAtomic(d.opts.PIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("pid file: %w", err)
		}
	}
	return d, nil
}

// startingPoint is what a start begins from: the services and state a
// re-exec handed over, or the configuration file's services. It fills
// the options' defaults.
func startingPoint(opts *Options) ([]*services.Spec, *handover, error) {
	var specs []*services.Spec
	ho, err := readHandover()
	if err != nil {
		return nil, nil, err
	}
	if ho != nil {
		// A re-exec: the services are those handed over, not the file's.
		specs = ho.Specs
		if opts.HistoryRetention == 0 {
			opts.HistoryRetention = ho.Retention
		}
	} else if opts.ConfigPath != "" {
		cfg, err := config.LoadPath(opts.ConfigPath, config.SystemAccounts{})
		if err != nil {
			return nil, nil, err
		}
		specs = cfg.Services
		if opts.HistoryRetention == 0 {
			opts.HistoryRetention = cfg.HistoryRetention
		}
	}
	if opts.HistoryRetention == 0 {
		opts.HistoryRetention = 30 * 24 * time.Hour
	}
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.RemoteCallTimeout <= 0 {
		opts.RemoteCallTimeout = proxy.DefaultCallTimeout
	}
	return specs, ho, nil
}

func newDaemon(opts Options, ho *handover) (*Daemon, error) {
	d := &Daemon{
		opts: opts, log: opts.Log, baseEnv: proc.BaseEnvironment(),
		stopReap: make(chan struct{}), done: make(chan struct{}), started: time.Now(), uid: os.Geteuid(),
		logKick: make(chan struct{}, 1), logDone: make(chan struct{}), logExit: make(chan struct{}),
		exitReq: make(chan ExitKind, 1), reapPause: make(chan chan struct{}), accounts: config.SystemAccounts{},
	}
	if ho != nil {
		d.started, d.reexecs, d.inheritedSignals = ho.FirstStarted, ho.Reexecs, ho.Signals
	}
	d.life, d.endLife = context.WithCancel(context.Background())
	d.files = filexfer.NewServer(d.audit)
	var err error
	if d.self, err = os.Executable(); err != nil {
		return nil, fmt.Errorf("find the shepherd binary: %w", err)
	}
	return d, nil
}

// openState takes the state directory (locked for the daemon's life), its
// history store and the daemon's identity.
func (d *Daemon) openState(ho *handover, undo *[]func()) error {
	dir := d.opts.StateDir
	if err := statedir.Prepare(dir, d.uid, d.opts.Insecure); err != nil {
		return err
	}
	var err error
	if ho != nil && ho.StateLockFD > 2 {
		d.stateLock, err = statedir.InheritedLock(ho.StateLockFD, dir)
	} else {
		// A first start, or a re-exec from a shepherd that had no lock.
		d.stateLock, err = statedir.Lock(dir)
	}
	if err != nil {
		return err
	}
	*undo = append(*undo, func() { d.stateLock.Close() })
	if d.history, err = history.OpenWith(filepath.Join(dir, "history"), history.Options{Logf: d.logf}); err != nil {
		return err
	}
	*undo = append(*undo, func() { d.history.Close() })
	d.fleetRuns = &fleetruns.Book{Store: d.history, Put: d.putRecord, Record: func(e history.Event) { d.record(false, e) }}
	d.snapshots = &fleetsnapshots.Book{Store: d.history, Put: d.putRecord}
	if ho == nil {
		d.reportPreviousRun()
	}
	d.key, d.peerID, err = identity.Load(dir)
	return err
}

// listen takes the control socket: its listener and lock, new or handed
// over. It also makes the process what a supervisor must be: only fds
// 0-2 reach a service (whatever the daemon inherited without
// close-on-exec, from a shell or a test runner, must not leak), and
// orphans of services are re-parented to the daemon, not to init, so
// that the reaper collects them and no zombie lingers (design §5).
func (d *Daemon) listen(ho *handover, undo *[]func()) error {
	proc.CloseOnExecInherited()
	if !d.opts.NotSubreaper {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			d.logf("cannot become a child subreaper: %v", err)
		}
	}
	var err error
	if ho != nil {
		if d.ln, err = inheritedListener(ho.ListenerFD); err == nil {
			d.socketLock, err = inheritedSocketLock(ho, d.opts.SocketPath)
		}
	} else {
		var l *local.Listener
		if l, err = local.Listen(d.opts.SocketPath, local.ListenOptions{Insecure: d.opts.Insecure, Mode: d.opts.SocketMode, Group: d.opts.SocketGroup}); err == nil {
			d.ln, d.socketLock = l.UnixListener, l.Lock
		}
	}
	if d.ln != nil {
		*undo = append(*undo, func() { d.ln.Close() })
	}
	if err != nil {
		return err
	}
	*undo = append(*undo, func() { d.socketLock.Release() })
	return nil
}

// startActors starts the actor system, the output pump and the actor
// tree, restores what a re-exec handed over, then the reaper.
func (d *Daemon) startActors(ho *handover, undo *[]func()) error {
	d.system = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(logWriter{d}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}))
	*undo = append(*undo, d.system.Shutdown)
	d.system.EventStream.Subscribe(func(msg any) {
		if ev, ok := msg.(*actor.SupervisorEvent); ok {
			d.logf("actor %s failed (%v); supervisor directive: %v", ev.Child.Id, ev.Reason, ev.Directive)
		}
	})
	d.cgroups, d.cgroupMode, d.cgroupOff = cgroup.Start(cgroup.Options{Dir: d.opts.Cgroup, Disabled: d.opts.NoCgroup, StateDir: d.opts.StateDir, UID: d.uid, PID1: os.Getpid() == 1})
	d.logf("cgroups: %s", d.cgroupMode)
	var err error
	if d.pump, err = proc.NewPump(func(owner, msg any) { d.system.Root.Send(owner.(*actor.PID), msg) }); err != nil {
		return err
	}
	d.goGo(d.pump.Run)
	*undo = append(*undo, func() {
		d.pump.Stop()
		d.wg.Wait()
	})
	if d.poller, err = activation.NewPoller(); err != nil {
		return err
	}
	d.goGo(func() {
		if err := d.poller.Run(); err != nil {
			d.logf("socket activation: %v; no socket is watched any more", err)
		}
	})
	*undo = append(*undo, d.poller.Close)
	monitorProps, err := monitor.NewProps(monitor.Env{Pump: d.pump, Go: d.goGo, Logf: d.logf})
	if err != nil {
		return err
	}
	caretakerProps, err := caretaker.NewProps(caretaker.Env{Audit: d.audit, Store: d.history, PutRecord: d.sendRecord, Accounts: d.accounts, PeerID: d.peerID, Addrs: d.netAddrs})
	if err != nil {
		return err
	}
	ready := make(chan children, 1)
	d.timers = &timer.Board{Send: d.system.Root.Send}
	d.root, err = d.system.Root.SpawnNamed(newShepherdProps(&shepherdState{
		historianProps: historian.NewProps(historian.Env{Go: d.goGo, Logf: d.logf}, d.history, d.opts.HistoryRetention),
		caretakerProps: caretakerProps, monitorProps: monitorProps,
		registryProps: func(c children) *actor.Props { return registry.NewProps(d.registryEnv(c)) },
		ready:         ready,
	}), "shepherd")
	if err != nil {
		return fmt.Errorf("spawn shepherd actor: %w", err)
	}
	c := <-ready
	if c.err != nil {
		return c.err
	}
	d.historian, d.caretaker, d.monitor, d.registry = c.historian, c.caretaker, c.monitor, c.registry
	d.timers.Registry = c.registry
	if ho != nil {
		// Before the reaper runs: the exits of children that ended during
		// the handover, waiting as zombies, must find their owners.
		if err := d.restore(ho); err != nil {
			return err
		}
	}
	mon, send := d.monitor, d.system.Root.Send
	d.goGo(func() { proc.Reap(func(e proc.Exit) { send(mon, e) }, d.stopReap, d.reapPause) })
	return nil
}

// serve serves the control socket (and the connections a re-exec handed
// over). Root and our own uid are not held to the per-uid limit and have
// connections of their own, so no user can lock them out.
func (d *Daemon) serve(ho *handover) {
	a := &api{d: d}
	d.server = &local.Server{Handler: a, Logf: d.logf, Privileged: a.privileged}
	ln := d.ln
	d.goGo(func() { d.server.Serve(ln) })
	if ho != nil {
		d.adoptConns(ho.Conns)
	}
}

// announce says in the log and the history that the daemon runs.
func (d *Daemon) announce(ho *handover, specs []*services.Spec) {
	if ho != nil {
		d.logf("shepherd %d re-executed (%s, first started at %s) with %s; listening on %s",
			os.Getpid(), count(d.reexecs, "time"), d.started.Local().Format(proc.TimeLayout), count(len(ho.Services), "service"), d.opts.SocketPath)
		return
	}
	d.logf("shepherd %d started with %s; listening on %s", os.Getpid(), count(len(specs), "service"), d.opts.SocketPath)
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	d.record(true, history.Event{Kind: history.KindDaemonStart, PID: os.Getpid(), Message: d.opts.ConfigPath},
		history.Event{Kind: history.KindLoad, Message: strings.Join(names, " ")})
}

// startHousekeeping returns idle memory after bursts and applies the
// history's retention now and every hour.
func (d *Daemon) startHousekeeping() {
	d.goGo(func() { memory.ReleaseIdle(d.stopReap) })
	send := d.system.Root.Send
	send(d.historian, &historian.Retain{})
	d.retainTick = time.NewTicker(time.Hour)
	tick := d.retainTick.C
	d.goGo(func() {
		for {
			select {
			case <-tick:
				send(d.historian, &historian.Retain{})
			case <-d.stopReap:
				return
			}
		}
	})
}

// restore brings back what a re-exec handed over: the services with their
// state, the owners of their processes, and their output pipes.
func (d *Daemon) restore(ho *handover) error {
	res := make(chan registry.RegisterResult, 1)
	d.system.Root.Send(d.registry, &registry.Register{Specs: ho.Specs, Restored: ho.Services, Declared: ho.Declared, Files: ho.Files, Reply: res})
	if r := <-res; r.Err != nil {
		return fmt.Errorf("re-exec handover: %w", r.Err)
	}
	owners := map[int]*actor.PID{}
	for name, s := range ho.Services {
		if s.Machine.PID != 0 {
			owners[s.Machine.PID] = d.controllerPID(name)
		}
		for _, pid := range s.ConnPIDs() {
			owners[pid] = d.controllerPID(name)
		}
	}
	done := make(chan struct{})
	d.system.Root.Send(d.monitor, &monitor.Restore{Owners: owners, Orphans: ho.Orphans, Done: done})
	<-done
	// The lines handed over come first in each ring: before the pipes
	// are pumped again (our sends arrive in order).
	if len(ho.Recent) > 0 {
		reg, _ := ask(context.Background(), d, d.registry, func(ch chan<- registry.Handover) any { return &registry.HandoverInfo{Reply: ch} })
		for name, data := range ho.Recent {
			if l, ok := reg.Loggers[name]; ok {
				d.system.Root.Send(l, &logger.RestoreRecent{Data: data})
			}
		}
	}
	for _, p := range ho.Pipes {
		r, _ := ask(context.Background(), d, d.registry, func(ch chan<- registry.Resolved) any { return &registry.Resolve{Name: p.Service, Reply: ch} })
		if r.Logger == nil {
			d.logf("re-exec: output pipe of unknown service %q dropped", p.Service)
			unix.Close(p.FD)
			continue
		}
		d.system.Root.Send(r.Logger, &proc.Opened{})
		if err := d.pump.Adopt(p.FD, r.Logger, p.Stream, p.Partial); err != nil {
			d.logf("re-exec: output of %s: %v", p.Service, err)
			unix.Close(p.FD)
			d.system.Root.Send(r.Logger, &proc.Closed{})
		}
	}
	return nil
}

func (d *Daemon) pauseReaper() {
	p := make(chan struct{})
	d.reapPause <- p
	<-p
	d.reapResume = p
}

func (d *Daemon) resumeReaper() {
	d.reapResume <- struct{}{}
}

// Shutdown stops every service, dependents first, then the socket and the
// actors. It is safe to call more than once.
func (d *Daemon) Shutdown() {
	d.stopOnce.Do(func() {
		// A re-exec under way sees this and stands down (thawing every
		// service) before the services are stopped.
		d.shuttingDown.Store(true)
		d.reexecMu.Lock()
		defer d.reexecMu.Unlock()
		d.logf("shutting down: stopping all services")
		done := make(chan struct{})
		d.system.Root.Send(d.registry, &registry.StopAll{Done: done})
		<-done
		d.http.Close()
		d.server.Close()
		d.metrics.Stop()
		os.Remove(d.opts.SocketPath)
		d.socketLock.Release()
		if d.netServer != nil {
			d.netServer.Close()
		}
		if h := d.currentNet(); h != nil {
			h.Close()
		}
		// Every line the pump has read reaches its logger (the pump's
		// sends are queued before ours), then the logs are closed.
		d.pump.Stop()
		d.poller.Close()
		loggers := make(chan []*actor.PID, 1)
		d.system.Root.Send(d.registry, &registry.ListLoggers{Reply: loggers})
		pids := <-loggers
		closed := make(chan struct{}, len(pids))
		for _, p := range pids {
			d.system.Root.Send(p, &logger.CloseLog{Done: closed})
		}
		for range pids {
			<-closed
		}
		if d.opts.PIDFile != "" {
			os.Remove(d.opts.PIDFile)
		}
		// Refusals only counted so far are recorded before the end.
		flushed := make(chan struct{})
		d.system.Root.Send(d.caretaker, &caretaker.FlushRefusals{Done: flushed})
		<-flushed
		d.record(true, history.Event{Kind: history.KindDaemonStop, PID: os.Getpid()})
		d.system.Root.StopFuture(d.root).Wait()
		if d.cgroups != nil {
			if err := d.cgroups.Close(); err != nil {
				d.logf("cgroups: %v", err)
			}
		}
		close(d.stopReap)
		d.endLife()
		if d.retainTick != nil {
			d.retainTick.Stop()
		}
		d.goMu.Lock()
		d.goStopped = true
		d.goMu.Unlock()
		d.wg.Wait()
		if err := d.history.Close(); err != nil {
			d.logf("history: close: %v", err)
		}
		d.logf("shepherd stopped")
		d.stopLog()
		d.stateLock.Close()
		close(d.done)
	})
}

// registerImports brings back the proxies of imported capabilities.
func (d *Daemon) registerImports() {
	recs, err := d.history.Records(registry.ImportRecordKind)
	if err != nil {
		d.logf("imported capabilities: %v", err)
		return
	}
	for _, b := range recs {
		var imp struct{ Name, Ref string }
		json.Unmarshal(b, &imp)
		spec, err := registry.ImportedSpec(imp.Name, imp.Ref)
		if err == nil {
			res := make(chan registry.RegisterResult, 1)
			d.system.Root.Send(d.registry, &registry.Register{Specs: []*services.Spec{spec}, Reply: res})
			err = (<-res).Err
		}
		if err != nil {
			d.logf("imported capability %s: %v", imp.Name, err)
		}
	}
}

// audit records events without waiting for them.
func (d *Daemon) audit(evs ...history.Event) {
	d.system.Root.Send(d.historian, &historian.Record{Events: evs})
}

// sendRecord sends a record to the history writer, the store's only
// writer (historian.PutRecord).
func (d *Daemon) sendRecord(p *historian.PutRecord) { d.system.Root.Send(d.historian, p) }

// putRecord stores a record through the history writer and returns once
// it is durable, with why it is not, or when the daemon stops.
func (d *Daemon) putRecord(r history.Record) error {
	ch := make(chan error, 1)
	d.sendRecord(&historian.PutRecord{Record: r, Reply: ch})
	select {
	case err := <-ch:
		return err
	case <-d.stopReap:
		return errors.New("the daemon is stopping")
	}
}

// record stores daemon events; with sync it returns once they are durable.
func (d *Daemon) record(sync bool, evs ...history.Event) {
	done := make(chan struct{})
	d.system.Root.Send(d.historian, &historian.Record{Events: evs, Sync: sync, Done: done})
	if sync {
		<-done
	}
}

// reportPreviousRun says in the log how the previous run ended.
func (d *Daemon) reportPreviousRun() {
	last, err := d.history.Scan(history.Query{AfterSeq: max(d.history.LastSeq(), 5) - 5})
	if err != nil {
		d.logf("history: %v", err)
		return
	}
	if len(last) == 0 {
		return
	}
	end := last[len(last)-1]
	if end.Kind == history.KindDaemonStop {
		d.logf("previous run stopped cleanly at %s", end.Time.Local().Format(proc.TimeLayout))
		return
	}
	d.logf("previous run did not stop cleanly; its last events:")
	for _, e := range last {
		d.logf("  #%d %s %s %s %s", e.Seq, e.Time.Local().Format(proc.TimeLayout), e.Service, e.Kind, e.State)
	}
}

// Reload re-reads the configuration (SIGHUP); an invalid one changes
// nothing and is returned as the error.
func (d *Daemon) Reload() (wire.ReloadResult, error) {
	var res wire.ReloadResult
	rep, err := ask(context.Background(), d, d.registry, func(ch chan<- wire.Reply) any {
		return &registry.ClientRequest{Req: wire.Request{Action: "reload"}, Who: "signal SIGHUP", Reply: ch}
	})
	if err != nil {
		return res, err
	}
	if rep = d.sections.Amend(rep); !rep.OK {
		return res, rep.Error
	}
	return res, json.Unmarshal(rep.Result, &res)
}

// HTTPAddr is where the HTTP API listens (nil: it does not).
func (d *Daemon) HTTPAddr() net.Addr { return d.http.Addr() }

// Done is closed when Shutdown has finished.
func (d *Daemon) Done() <-chan struct{} { return d.done }

// MetricsAddr is where /metrics is served (nil: nowhere).
func (d *Daemon) MetricsAddr() net.Addr { return d.metrics.Addr() }

// goGo runs f in an accounted goroutine; Shutdown waits for all of them,
// and from then on goGo refuses (f does not run: the daemon is gone). A
// panic in one is logged, not fatal: these goroutines handle what
// clients, peers and services send, and as PID 1 a crash ends the machine.
// Every wait in them selects on d.life (or has a deadline).
func (d *Daemon) goGo(f func()) {
	d.goMu.Lock()
	defer d.goMu.Unlock()
	if d.goStopped {
		d.logf("internal error: a goroutine started after shutdown was refused\n%s", debug.Stack())
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer func() {
			if r := recover(); r != nil {
				d.logf("internal error (recovered, please report): %v\n%s", r, debug.Stack())
			}
		}()
		f()
	}()
}

// logf queues one timestamped line for the daemon log. Lines are written
// by logLoop, so that a burst (1000 services starting) costs a few writes
// rather than one per line, and no actor ever blocks on the log file.
func (d *Daemon) logf(format string, args ...any) {
	line := time.Now().Format(proc.TimeLayout) + " " + fmt.Sprintf(format, args...) + "\n"
	d.logMu.Lock()
	d.logBuf = append(d.logBuf, line...)
	d.logMu.Unlock()
	select {
	case d.logKick <- struct{}{}:
	default:
	}
}

func (d *Daemon) logLoop() {
	defer close(d.logExit)
	for {
		select {
		case <-d.logKick:
			// Let a burst gather: one write per burst, not per line.
			select {
			case <-time.After(5 * time.Millisecond):
			case <-d.logDone:
			}
			d.flushLog()
		case <-d.logDone:
			d.flushLog()
			return
		}
	}
}

// stopLog writes what is queued and ends logLoop.
func (d *Daemon) stopLog() {
	d.logOnce.Do(func() { close(d.logDone) })
	<-d.logExit
}

func (d *Daemon) flushLog() {
	d.logMu.Lock()
	b := d.logBuf
	d.logBuf = nil
	d.logMu.Unlock()
	if len(b) > 0 {
		d.log.Write(b)
	}
}

type logWriter struct{ d *Daemon }

func (w logWriter) Write(p []byte) (int, error) {
	w.d.logf("%s", string(p[:len(p)-min(1, len(p))]))
	return len(p), nil
}

// registryEnv is what the registry gets, once the actors it talks to
// exist.
func (d *Daemon) registryEnv(c children) registry.Env {
	return registry.Env{
		Service: service.Env{
			Go: d.goGo, Logf: d.logf, Life: d.life, Monitor: c.monitor, Historian: c.historian,
			History: d.history, BaseEnv: d.baseEnv, UID: d.uid, Send: d.system.Root.Send, Poller: d.poller, Cgroups: d.cgroups,
			NotifyDir: d.notifyDir(),
		},
		Proxy:    proxy.Env{Go: d.goGo, Logf: d.logf, Dial: d.dialRef, Ping: d.pingRef, CallTimeout: d.opts.RemoteCallTimeout, Historian: c.historian},
		Accounts: d.accounts, LogPath: d.logPath, ConfigPath: d.opts.ConfigPath, SyslogPath: d.opts.SyslogSocket,
		Cgroups: cgroup.SupportOf(d.cgroups, d.cgroupOff), Records: d.history,
		Timers: d.timers.Factory(timer.Env{Historian: c.historian, Records: d.history, Logf: d.logf, Send: d.system.Root.Send, Started: d.started}),
	}
}

// controllerPID is the address of a service's controller: the registry's
// child named after the service.
func (d *Daemon) controllerPID(name string) *actor.PID {
	return actor.NewPID(d.registry.Address, d.registry.Id+"/svc:"+name)
}

// notifyDir is where the services' notify sockets go (Options.NotifyDir).
func (d *Daemon) notifyDir() string {
	if d.opts.NotifyDir != "" {
		return d.opts.NotifyDir
	}
	return filepath.Dir(d.opts.SocketPath) + "-notify"
}

// count is "1 service", "3 services".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func (d *Daemon) logPath(name string) string {
	return filepath.Join(d.opts.StateDir, "logs", name+".log")
}

// ask sends msg, built around a fresh reply channel, to pid and waits for
// the answer or the context's end.
func ask[T any](ctx context.Context, d *Daemon, pid *actor.PID, build func(chan<- T) any) (T, error) {
	ch := make(chan T, 1)
	d.system.Root.Send(pid, build(ch))
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// shepherd is the coordinator: the parent of the history writer, the
// caretaker, the monitor and the registry. It knows nothing of the daemon:
// it spawns them (the registry's props once it knows the others) and
// says who they are on ready.
type shepherd struct{ st *shepherdState }

// children are the coordinator's children, or why they could not be.
type children struct {
	historian, caretaker, monitor, registry *actor.PID
	err                                     error
}

type shepherdState struct {
	historianProps, caretakerProps, monitorProps *actor.Props
	registryProps                                func(children) *actor.Props
	ready                                        chan<- children // nil once the children exist
}

func newShepherdProps(st *shepherdState) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &shepherd{st: st} }, actor.WithSupervisor(actor.NewOneForOneStrategy(100, time.Minute, func(any) actor.Directive {
		// The registry's children are the controllers: a restart would
		// stop them all. Resuming drops only the failed message.
		return actor.ResumeDirective
	})))
}

func (s *shepherd) Receive(ctx actor.Context) {
	st := s.st
	switch ctx.Message().(type) {
	case *actor.Started:
		if st.ready == nil {
			return // a restart: the children are still there
		}
		var c children
		if c.historian, c.err = ctx.SpawnNamed(st.historianProps, "history"); c.err == nil {
			if c.caretaker, c.err = ctx.SpawnNamed(st.caretakerProps, "caretaker"); c.err == nil {
				if c.monitor, c.err = ctx.SpawnNamed(st.monitorProps, "monitor"); c.err == nil {
					c.registry, c.err = ctx.SpawnNamed(st.registryProps(c), "registry")
				}
			}
		}
		st.ready <- c
		st.ready = nil
	}
}
