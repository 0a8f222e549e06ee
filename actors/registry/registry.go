package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/intent"
	"github.com/shepherd-go/shepherd/services/lifecycle"

	"github.com/shepherd-go/shepherd/actors/group"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/actors/proxy"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/leftover"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// HandoverInfo asks the registry what a re-exec must carry.
type HandoverInfo struct{ Reply chan<- Handover }

type Handover struct {
	Files []string
	// Specs are the definitions to Register again: not the instances,
	// which their groups make.
	Specs []*services.Spec
	// Declared holds, for each group scaled to another number than its
	// file gives, that number (its `instances`); in Specs the group has
	// the number it runs. A binary that knows nothing of Declared
	// carries the scale on, and one that gets none keeps the file's
	// number as the group's own.
	Declared map[string]int
	// Controlled are the services with a controller (instances included).
	Controlled []string
	Loggers    map[string]*actor.PID
}

// Register adds services (validated together with those already known),
// spawning a controller and a logger for each; with AutoStart the new
// auto-start services are started. Reply gets the names or the errors.
type Register struct {
	Specs     []*services.Spec
	AutoStart bool
	// Restored, after a re-exec, holds the handed-over state of the
	// services: their controllers carry on from it.
	Restored map[string]service.Saved
	// Declared, with Restored, is Handover.Declared.
	Declared map[string]int
	Files    []string
	// Leftovers, at a start after a daemon that ended without stopping
	// its services, is what leftover.Recover did with the processes it
	// left: the history events and records to write, and the processes
	// taken on as the main processes of their services (instances
	// included), which then run on rather than start.
	Leftovers leftover.Outcome
	// Intent, at a start that is not a re-exec, is what is brought back
	// of the services' kept intent (BootIntent): with it, Specs are
	// those of BootIntent, and Declared its Declared.
	Intent *Boot
	Reply  chan<- RegisterResult
}

type RegisterResult struct {
	Names []string
	Err   error
}

// ClientRequest is a request from herd, answered on Reply. Who names the
// client for history.
type ClientRequest struct {
	Req   wire.Request
	Who   string
	Reply chan<- wire.Reply
}

// Resolve looks a service up by name or alias for the API layer.
type Resolve struct {
	Name  string
	Reply chan<- Resolved
}

type Resolved struct {
	Name   string
	Logger *actor.PID
	OK     bool
}

// StopAll stops every service, dependents first; Done is closed after.
type StopAll struct{ Done chan<- struct{} }

// ListLoggers asks for every logger's address.
type ListLoggers struct{ Reply chan<- []*actor.PID }

// transitionLogSize bounds the daemon-wide transition log of `herd log`.
const transitionLogSize = 10000

// Env is what the registry needs of the daemon: what its controllers and
// proxies need (their Registry is the registry itself), and for itself.
type Env struct {
	Service service.Env
	Proxy   proxy.Env
	// Accounts looks up the users and groups a loaded file names.
	Accounts config.Accounts
	// LogPath is a service's default log file.
	LogPath func(name string) string
	// SyslogPath is the system log's socket, for `log: syslog` and
	// `both`. Empty: /dev/log.
	SyslogPath string
	// ConfigPath is the configuration file (reload reads it again).
	ConfigPath string
	// Cgroups says which cgroup limits can be applied: a file with
	// others is refused (services.CheckCgroupLimits).
	Cgroups services.CgroupSupport
	// Records reads the history store's records: the counter of
	// transient-N names (transient.go). Nil: counted from 1.
	Records interface {
		Record(kind, key string) ([]byte, error)
	}
	// Timers makes the timer actor of a timer service (timers.go).
	// Nil: timers never fire.
	Timers func(s *services.Spec, controller *actor.PID) *actor.Props
}

type registryState struct {
	env Env
	// groupOf maps an instance to its group; instancesOf a group to its
	// instances, in order.
	groupOf     map[string]string
	instancesOf map[string][]string
	// files are the configuration and every file loaded since: what
	// reload reads again.
	files     []string
	specs     map[string]*services.Spec
	aliases   map[string]string // name or alias -> canonical name
	summaries map[string]wire.Summary
	loggers   map[string]*actor.PID
	log       []wire.LogEntry
	// stopWaits run when the named service reports it has stopped.
	stopWaits map[string][]func(lifecycle.Result)
	// reading: a load or reload is being read (load.go); configQueue
	// holds those that wait for it.
	reading     bool
	configQueue []*ClientRequest
	// stopping: StopAll came; nothing is loaded any more.
	stopping bool
	// adopted are the processes of Register.Adopted not yet given to
	// their controllers; disabled, the services of Register.Intent that
	// start disabled (intent.go).
	adopted  map[string]leftover.Adoption
	disabled map[string]lifecycle.Disabled
	// transients are the services herd spawn made (transient.go).
	transients transientState
}

// registry knows every service: names, aliases, the dependency graph and
// a summary of each; it routes client requests to controllers.
type registry struct{ st *registryState }

// NewProps makes the registry.
func NewProps(env Env) *actor.Props {
	st := &registryState{
		env: env, specs: map[string]*services.Spec{}, aliases: map[string]string{},
		summaries: map[string]wire.Summary{}, loggers: map[string]*actor.PID{},
		stopWaits: map[string][]func(lifecycle.Result){},
		groupOf:   map[string]string{}, instancesOf: map[string][]string{},
	}
	if env.ConfigPath != "" {
		st.files = []string{env.ConfigPath}
	}
	return actor.PropsFromProducer(func() actor.Actor { return &registry{st: st} },
		actor.WithSupervisor(actor.NewOneForOneStrategy(100, time.Minute, func(any) actor.Directive {
			// Controllers and loggers keep their state outside the actor
			// object, so a restart loses nothing.
			return actor.RestartDirective
		})))
}

// serviceEnv is what the registry's controllers, loggers and groups get.
func (r *registry) serviceEnv(ctx actor.Context) service.Env {
	env := r.st.env.Service
	env.Registry = ctx.Self()
	return env
}

// proxyEnv is what the registry's proxies get.
func (r *registry) proxyEnv(ctx actor.Context) proxy.Env {
	env := r.st.env.Proxy
	env.Registry = ctx.Self()
	return env
}

func (r *registry) Receive(ctx actor.Context) {
	st := r.st
	switch msg := ctx.Message().(type) {
	case *Register:
		if msg.Restored != nil {
			st.files = msg.Files
			names, err := r.add(ctx, msg.Specs, msg.Restored)
			r.declare(ctx, msg.Declared)
			r.rekeep(ctx, msg.Restored)
			for name, saved := range msg.Restored {
				if _, ok := st.specs[name]; !ok {
					st.env.Service.Logf("re-exec: service %s was handed over but is not defined; its process %d is left alone", name, saved.Machine.PID)
				}
			}
			r.updateDependents(ctx)
			msg.Reply <- RegisterResult{Names: names, Err: err}
			return
		}
		o := msg.Leftovers
		if msg.Intent != nil {
			o.Records = append(slices.Clone(o.Records), msg.Intent.Forget...)
		}
		if len(o.Events)+len(o.Records) > 0 {
			// Before any event of the services, which come after.
			ctx.Send(st.env.Service.Historian, &historian.Record{Events: o.Events, Records: o.Records, Sync: true})
		}
		st.adopted = msg.Leftovers.Adopted
		if msg.Intent != nil {
			st.disabled = msg.Intent.Disabled
		}
		names, err := r.register(ctx, msg.Specs, nil, msg.AutoStart)
		for name, a := range st.adopted {
			st.env.Service.Logf("service %s: adopted process %d has no service to run it: left alone", name, a.PID)
			a.PIDFD.Close()
		}
		st.adopted, st.disabled = nil, nil
		if msg.Intent != nil {
			r.declare(ctx, msg.Intent.Declared)
		}
		msg.Reply <- RegisterResult{Names: names, Err: err}
	case *HandoverInfo:
		msg.Reply <- r.handoverInfo()
	case *ClientRequest:
		r.onClient(ctx, msg)
	case *Loggers:
		msg.Reply <- r.loggersOf()
	case *Describe:
		r.describe(msg)
	case *Resolve:
		name, ok := st.aliases[msg.Name]
		msg.Reply <- Resolved{Name: name, Logger: st.loggers[name], OK: ok}
	case *service.SummaryUpdate:
		if s, ok := st.specs[msg.Summary.Name]; ok {
			msg.Summary.Transient = s.Transient
			st.summaries[msg.Summary.Name] = msg.Summary
			r.transientUpdate(ctx, msg, false)
			if g, ok := st.groupOf[msg.Summary.Name]; ok {
				r.groupSummary(g)
			}
		}
		if len(st.log)+len(msg.Transitions) > transitionLogSize {
			st.log = slices.Delete(st.log, 0, len(st.log)/10)
		}
		st.log = append(st.log, msg.Transitions...)
	case *service.PeerReply:
		if msg.Op != lifecycle.PeerStop {
			// The answer to a start the registry sent (auto-start, a
			// scale up): nobody waits for it. Taken for the answer to
			// a stop, it would end that wait before the service is down.
			return
		}
		waits := st.stopWaits[msg.Name]
		delete(st.stopWaits, msg.Name)
		for _, f := range waits {
			f(msg.Result)
		}
	case *parsed:
		r.onParsed(ctx, msg)
	case *Spawn:
		r.spawn(ctx, msg)
	case *spawnParsed:
		r.onSpawnParsed(ctx, msg)
	case *SpawnDone:
		r.onSpawnDone(ctx, msg)
	case *transientGone:
		r.onTransientGone(ctx, msg)
	case *transientForget:
		r.onTransientForget(ctx, msg)
	case *importStored:
		r.onImportStored(msg)
	case *intentKept:
		msg.then()
	case *StopAll:
		st.stopping = true
		for _, q := range st.configQueue {
			q.Reply <- wire.ErrReply(q.Req.ID, wire.Errorf(wire.BadRequest, "the daemon is stopping"))
		}
		st.configQueue = nil
		r.stopAll(ctx, msg.Done)
	case *ListLoggers:
		pids := make([]*actor.PID, 0, len(st.loggers))
		for _, p := range st.loggers {
			pids = append(pids, p)
		}
		msg.Reply <- pids
	}
}

// stopThen stops a service and runs then once it is down.
func (r *registry) stopThen(ctx actor.Context, name string, then func(lifecycle.Result)) {
	r.stopThenFor(ctx, name, false, then)
}

// stopThenFor is stopThen; local says the daemon itself is going down.
func (r *registry) stopThenFor(ctx actor.Context, name string, local bool, then func(lifecycle.Result)) {
	st := r.st
	st.stopWaits[name] = append(st.stopWaits[name], then)
	if len(st.stopWaits[name]) == 1 {
		ctx.Send(service.ControllerPID(ctx.Self(), name), &service.PeerRequest{Op: lifecycle.PeerStop, From: ctx.Self(), Local: local})
	}
}

func (r *registry) stopAll(ctx actor.Context, done chan<- struct{}) {
	left := len(r.st.specs)
	if left == 0 {
		close(done)
		return
	}
	// Every stop cascades to dependents first, so asking all at once is
	// still dependents-first, and independent services stop in parallel.
	for name := range r.st.specs {
		r.stopThenFor(ctx, name, true, func(lifecycle.Result) {
			left--
			if left == 0 {
				close(done)
			}
		})
	}
}

// Register validates specs with the known services and adds them. parseErrs
// are problems already found in specs; they are reported with the rest.
func (r *registry) register(ctx actor.Context, specs []*services.Spec, parseErrs services.ErrorList, autoStart bool) ([]string, error) {
	st := r.st
	all := make([]*services.Spec, 0, len(st.specs)+len(specs))
	for _, s := range st.specs {
		c := *s
		c.Requires = slices.Clone(s.Requires)
		all = append(all, &c)
	}
	all = append(all, specs...)
	parseErrs = append(parseErrs, services.CheckCgroupLimits(specs, st.env.Cgroups)...)
	if err := append(parseErrs, services.Validate(all)...).Err(); err != nil {
		return nil, err
	}
	names, err := r.add(ctx, specs, nil)
	r.updateDependents(ctx)
	if autoStart {
		r.autoStart(ctx, specs)
	}
	return names, err
}

// add spawns a controller and a logger for each (validated) spec; a
// service in restored carries on from its handed-over state.
func (r *registry) add(ctx actor.Context, specs []*services.Spec, restored map[string]service.Saved) ([]string, error) {
	st := r.st
	var names []string
	for _, s := range specs {
		st.specs[s.Name] = s
		r.setAliases(s)
		logPath := s.LogFile
		if logPath == "" {
			logPath = st.env.LogPath(s.Name)
		}
		gid := -1
		if s.Credentials != nil {
			gid = int(s.Credentials.GID)
		}
		files := logger.Files{Path: logPath, StderrPath: s.StderrLogFile, GID: gid, Rotate: s.LogRotate}
		st.logTargets(s, &files)
		logger, err := r.spawnNamed(ctx, logger.NewFilesProps(s.Name, files, st.env.Service.Logf), "log:"+s.Name)
		if err != nil {
			return names, r.undoAdd(ctx, s.Name, fmt.Errorf("spawn logger for %s: %w", s.Name, err))
		}
		st.loggers[s.Name] = logger
		if s.Instances > 0 {
			var insts []*services.Spec
			for i := 1; i <= s.Instances; i++ {
				insts = append(insts, s.Instance(i))
			}
			if err := r.addInstances(ctx, s.Name, insts, restored); err != nil {
				return names, r.undoAdd(ctx, s.Name, err)
			}
			if _, err := r.spawnNamed(ctx, group.NewProps(r.serviceEnv(ctx), s, slices.Clone(st.instancesOf[s.Name])), "svc:"+s.Name); err != nil {
				return names, r.undoAdd(ctx, s.Name, fmt.Errorf("spawn group %s: %w", s.Name, err))
			}
			st.summaries[s.Name] = wire.Summary{Name: s.Name, State: wire.StateStopped, Enabled: true}
			names = append(names, s.Name)
			continue
		}
		if s.Remote != "" {
			props, err := proxy.NewProps(r.proxyEnv(ctx), s)
			if err == nil {
				_, err = r.spawnNamed(ctx, props, "svc:"+s.Name)
			}
			if err != nil {
				return names, r.undoAdd(ctx, s.Name, fmt.Errorf("service %s: %w", s.Name, err))
			}
			st.summaries[s.Name] = wire.Summary{Name: s.Name, State: wire.StateStopped, Enabled: true}
			names = append(names, s.Name)
			continue
		}
		var cs *service.ControllerState
		disabled := r.bootDisabled(s.Name)
		if saved, ok := restored[s.Name]; ok {
			cs = service.RestoredController(r.serviceEnv(ctx), saved, logger, time.Now())
		} else if a, ok := st.adopted[s.Name]; ok {
			delete(st.adopted, s.Name)
			cs = service.AdoptedController(r.serviceEnv(ctx), s, a, disabled, logger)
		} else {
			cs = service.BootController(r.serviceEnv(ctx), s, disabled, logger)
		}
		// Read before the controller runs: from then on its state is its own.
		st.summaries[s.Name] = cs.Summary()
		if _, err := r.spawnNamed(ctx, cs.Props(), "svc:"+s.Name); err != nil {
			return names, r.undoAdd(ctx, s.Name, fmt.Errorf("spawn controller for %s: %w", s.Name, err))
		}
		r.addTimer(ctx, s)
		names = append(names, s.Name)
	}
	r.trackTransients(ctx, specs, restored != nil)
	return names, nil
}

// spawnNamed spawns a service's actor under its fixed name. The actor of a
// service forgotten a moment ago (a scale down, an unload) may still hold
// that name, as ctx.Stop is asynchronous; it is waited for here, or the
// name would come back as "name exists" until it is gone.
func (r *registry) spawnNamed(ctx actor.Context, props *actor.Props, name string) (*actor.PID, error) {
	old := actor.NewPID(ctx.Self().Address, ctx.Self().Id+"/"+name)
	if _, alive := ctx.ActorSystem().ProcessRegistry.GetLocal(old.Id); alive {
		if err := ctx.StopFuture(old).Wait(); err != nil {
			return nil, fmt.Errorf("%s is still stopping: %w", name, err)
		}
	}
	return ctx.SpawnNamed(props, name)
}

// addInstances adds instance services to a group.
func (r *registry) addInstances(ctx actor.Context, group string, insts []*services.Spec, restored map[string]service.Saved) error {
	st := r.st
	// One at a time, so that the group holds every instance added before
	// one that fails.
	for _, i := range insts {
		if _, err := r.add(ctx, []*services.Spec{i}, restored); err != nil {
			return err
		}
		st.groupOf[i.Name] = group
		st.instancesOf[group] = append(st.instancesOf[group], i.Name)
	}
	return nil
}

// undoAdd drops what add made of a service before failing (a group
// keeps its instances up to the one that failed, and forgets them with
// it), so that the registry holds no service without its actors.
func (r *registry) undoAdd(ctx actor.Context, name string, err error) error {
	st := r.st
	for _, i := range st.instancesOf[name] {
		r.undoAdd(ctx, i, nil)
		delete(st.groupOf, i)
	}
	delete(st.instancesOf, name)
	ctx.Stop(service.ControllerPID(ctx.Self(), name))
	if l := st.loggers[name]; l != nil {
		ctx.Stop(l)
	}
	if s := st.specs[name]; s != nil {
		for _, a := range s.Provides {
			delete(st.aliases, a)
		}
	}
	delete(st.aliases, name)
	delete(st.specs, name)
	delete(st.summaries, name)
	delete(st.loggers, name)
	return err
}

// groupSummary recomputes a group's summary from its instances'.
func (r *registry) groupSummary(name string) {
	st := r.st
	states := map[string]int{}
	enabled := true
	for _, i := range st.instancesOf[name] {
		states[st.summaries[i].State]++
		enabled = enabled && st.summaries[i].Enabled
	}
	st.summaries[name] = wire.Summary{Name: name, State: group.CombinedState(states, len(st.instancesOf[name])), Enabled: enabled}
}

// scale changes a group's number of instances, starting or stopping only
// the difference. The group's definition keeps the number its file gives
// (its `instances`): a reload keeps the scale as long as the file's
// number stays the same (see reload).
func (r *registry) scale(ctx actor.Context, name string, msg *ClientRequest) {
	st := r.st
	s := st.specs[name]
	n := -1
	if len(msg.Req.Args) == 1 {
		n, _ = strconv.Atoi(msg.Req.Args[0])
	}
	switch {
	case s.Instances == 0:
		msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest, "service %s has no instances (give it instances: N)", name))
		return
	case n < 1:
		msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest, "scale %s: expected a number of instances of at least 1", name))
		return
	}
	r.resize(ctx, name, n, func(err error) {
		if err != nil {
			msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest, "%v", err))
			return
		}
		// Answered once the scale is kept for the next start.
		r.keepIntent(ctx, []history.Record{r.groupRecord(name)}, func() {
			msg.Reply <- wire.OKReply(msg.Req.ID, wire.ActionResult{Service: name, Outcome: wire.Done})
		})
	})
}

// resize makes a group's instances NAME.1 .. NAME.n, starting the new
// ones if the group runs, stopping and forgetting those beyond n; the
// others are left alone. done runs once the instances that go are down.
func (r *registry) resize(ctx actor.Context, name string, n int, done func(error)) {
	st := r.st
	s := st.specs[name]
	cur := len(st.instancesOf[name])
	running := st.summaries[name].State != wire.StateStopped
	finish := func() {
		r.tellGroup(ctx, name)
		r.updateDependents(ctx)
		r.groupSummary(name)
		done(nil)
	}
	if n > cur {
		var insts []*services.Spec
		for i := cur + 1; i <= n; i++ {
			insts = append(insts, s.Instance(i))
		}
		if err := r.addInstances(ctx, name, insts, nil); err != nil {
			done(err)
			return
		}
		if running {
			for _, i := range insts {
				ctx.Send(service.ControllerPID(ctx.Self(), i.Name), &service.PeerRequest{Op: lifecycle.PeerStart, From: ctx.Self()})
			}
		}
		finish()
		return
	}
	gone := slices.Clone(st.instancesOf[name][n:])
	st.instancesOf[name] = st.instancesOf[name][:n]
	if len(gone) == 0 {
		finish()
		return
	}
	left := len(gone)
	for _, i := range gone {
		r.stopThen(ctx, i, func(lifecycle.Result) {
			r.forget(ctx, i)
			delete(st.groupOf, i)
			if left--; left == 0 {
				finish()
			}
		})
	}
}

// HandoverInfo is what a re-exec needs of the registry.
func (r *registry) handoverInfo() Handover {
	st := r.st
	h := Handover{Files: slices.Clone(st.files), Loggers: maps.Clone(st.loggers), Declared: map[string]int{}}
	for name, s := range st.specs {
		if n := len(st.instancesOf[name]); s.Instances > 0 && n != s.Instances {
			h.Declared[name] = s.Instances
			c := *s
			c.Instances = n
			s = &c
		}
		if _, instance := st.groupOf[name]; !instance {
			h.Specs = append(h.Specs, s)
		}
		if s.Instances == 0 && s.Remote == "" {
			h.Controlled = append(h.Controlled, name)
		}
	}
	slices.SortFunc(h.Specs, func(a, b *services.Spec) int { return strings.Compare(a.Name, b.Name) })
	return h
}

func (r *registry) setAliases(s *services.Spec) {
	r.st.aliases[s.Name] = s.Name
	for _, a := range s.Provides {
		r.st.aliases[a] = s.Name
	}
}

func (r *registry) autoStart(ctx actor.Context, specs []*services.Spec) {
	// A service after another is asked to start after it, so that the
	// other is starting by the time it asks (order.go).
	for _, s := range startOrder(specs, r.st.specs) {
		if s.AutoStart {
			ctx.Send(service.ControllerPID(ctx.Self(), s.Name), &service.PeerRequest{Op: lifecycle.PeerStart, From: ctx.Self()})
		}
	}
}

// updateDependents tells every controller who requires it, and whom it
// conflicts with (order.go).
func (r *registry) updateDependents(ctx actor.Context) {
	deps := map[string][]string{}
	for name, s := range r.st.specs {
		for _, req := range s.Requires {
			deps[req] = append(deps[req], name)
		}
	}
	conflicts := r.conflicts()
	for name := range r.st.specs {
		d := deps[name]
		slices.Sort(d)
		ctx.Send(service.ControllerPID(ctx.Self(), name), &service.SetDependents{Names: d})
		ctx.Send(service.ControllerPID(ctx.Self(), name), &service.SetConflicts{Names: conflicts[name]})
	}
}

func (r *registry) onClient(ctx actor.Context, msg *ClientRequest) {
	st := r.st
	req := msg.Req
	if req.Service == "" {
		switch req.Action {
		case "status":
			all := wire.StatusAll{Services: make([]wire.Summary, 0, len(st.summaries))}
			for _, s := range st.summaries {
				all.Services = append(all.Services, s)
			}
			slices.SortFunc(all.Services, func(a, b wire.Summary) int { return strings.Compare(a.Name, b.Name) })
			msg.Reply <- wire.OKReply(req.ID, all)
		case "log":
			if len(req.Args) > 0 {
				r.allLogs(msg) // -n: every service's output (logs.go)
				return
			}
			msg.Reply <- wire.OKReply(req.ID, wire.LogResult{Entries: slices.Clone(st.log)})
		case "graph":
			msg.Reply <- wire.OKReply(req.ID, r.graph())
		case "load", "reload":
			r.configRequest(ctx, msg)
		case "cap-import":
			r.importCap(ctx, msg)
		default:
			msg.Reply <- wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "action %q needs a service name", req.Action))
		}
		return
	}
	name, ok := st.aliases[req.Service]
	if !ok {
		msg.Reply <- wire.ErrReply(req.ID, &wire.Error{Kind: wire.ServiceNotFound, Service: req.Service,
			Message: fmt.Sprintf("service '%s' could not be found", req.Service)})
		return
	}
	switch req.Action {
	case "scale":
		r.scale(ctx, name, msg)
	case "log":
		r.serviceLog(ctx, name, msg)
	case "unload":
		r.unload(ctx, name, msg)
	case "kill":
		r.kill(ctx, name, msg)
	case "status":
		if r.transientStatus(ctx, name, msg) {
			return
		}
		if members := r.remoteMembers(name); len(members) > 0 {
			// A fleet: its status names its hosts' services and states.
			reply, out := make(chan wire.Reply, 1), msg.Reply
			ctx.Send(service.ControllerPID(ctx.Self(), name), &service.Request{Req: req, Who: msg.Who, Reply: reply})
			env, id := st.env.Service, req.ID
			env.Go(func() {
				rep, err := awaitReply(env, reply)
				if err != nil {
					out <- wire.ErrReply(id, wire.Errorf(wire.Timeout, "status of %s: %v", name, err))
					return
				}
				var s wire.Status
				if rep.OK && json.Unmarshal(rep.Result, &s) == nil {
					s.Members = members
					rep = wire.OKReply(rep.ID, s)
				}
				out <- rep
			})
			return
		}
		ctx.Send(service.ControllerPID(ctx.Self(), name), &service.Request{Req: req, Who: msg.Who, Reply: msg.Reply})
	default:
		ctx.Send(service.ControllerPID(ctx.Self(), name), &service.Request{Req: req, Who: msg.Who, Reply: msg.Reply})
	}
}

// remoteMembers are the remote services name requires, with their states.
func (r *registry) remoteMembers(name string) []wire.Instance {
	var out []wire.Instance
	for _, req := range r.st.specs[name].Requires {
		if s, ok := r.st.specs[req]; ok && s.Remote != "" {
			out = append(out, wire.Instance{Name: req, State: r.st.summaries[req].State})
		}
	}
	return out
}

func (r *registry) graph() wire.Graph {
	g := wire.Graph{Nodes: []wire.GraphNode{}, Edges: [][2]string{}}
	names := make([]string, 0, len(r.st.specs))
	for n := range r.st.specs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		s := r.st.summaries[n]
		g.Nodes = append(g.Nodes, wire.GraphNode{Name: n, State: s.State, OneShot: s.OneShot, Failing: s.State == wire.StateFailed})
		for _, req := range r.st.specs[n].Requires {
			g.Edges = append(g.Edges, [2]string{n, req})
		}
	}
	return g
}

// serviceLog answers `herd log NAME` (transitions) and `herd log NAME -n N`
// (the service's own output; -f is a stream served by the API layer).
func (r *registry) serviceLog(ctx actor.Context, name string, msg *ClientRequest) {
	req := msg.Req
	if len(req.Args) == 0 {
		var out []wire.LogEntry
		for _, e := range r.st.log {
			if e.Service == name {
				out = append(out, e)
			}
		}
		msg.Reply <- wire.OKReply(req.ID, wire.LogResult{Entries: out})
		return
	}
	n, err := LogLinesArg(req.Args)
	if err != nil {
		msg.Reply <- wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err))
		return
	}
	lines := make(chan []string, 1)
	ctx.Send(r.st.loggers[name], &logger.RecentLines{N: n, Reply: lines})
	// The logger answers at once; wait for it without blocking the
	// registry's mailbox on anything slower than the logger's own queue.
	id, reply, env := req.ID, msg.Reply, r.st.env.Service
	env.Go(func() {
		l, err := awaitReply(env, lines)
		if err != nil {
			reply <- wire.ErrReply(id, wire.Errorf(wire.Timeout, "log of %s: %v", name, err))
			return
		}
		reply <- wire.OKReply(id, wire.LogResult{Entries: OutputEntries(name, l)})
	})
}

// localReplyWait bounds a goroutine's wait for another actor of this
// daemon, which answers at once unless it is gone (unloaded meanwhile).
const localReplyWait = 10 * time.Second

// awaitReply waits for a local actor's answer on ch, until localReplyWait
// or the daemon's end: no goroutine may wait forever.
func awaitReply[T any](env service.Env, ch <-chan T) (T, error) {
	ctx, cancel := env.Context(localReplyWait)
	defer cancel()
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		var zero T
		return zero, errors.New("no answer")
	}
}

// LogLinesArg parses a log request's args: -n N, optionally -f.
func LogLinesArg(args []string) (int, error) {
	n := 10
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-n":
			if i+1 >= len(args) {
				return 0, fmt.Errorf("-n needs a number")
			}
			v, err := strconv.Atoi(args[i+1])
			if err != nil || v < 0 {
				return 0, fmt.Errorf("-n: expected a non-negative number, got %q", args[i+1])
			}
			n = v
			i++
		case "-f":
		default:
			return 0, fmt.Errorf("unknown log argument %q", args[i])
		}
	}
	return n, nil
}

func OutputEntries(name string, lines []string) []wire.LogEntry {
	out := make([]wire.LogEntry, 0, len(lines))
	for _, l := range lines {
		out = append(out, wire.LogEntry{Service: name, Text: l})
	}
	return out
}

// forget stops a stopped service's actors and drops it.
func (r *registry) forget(ctx actor.Context, name string) {
	st := r.st
	for _, i := range st.instancesOf[name] {
		r.forget(ctx, i)
		delete(st.groupOf, i)
	}
	delete(st.instancesOf, name)
	r.forgetTransient(name)
	ctx.Stop(service.ControllerPID(ctx.Self(), name))
	if s := st.specs[name]; s != nil && s.Timer != nil {
		ctx.Stop(TimerPID(ctx.Self(), name))
	}
	ctx.Stop(st.loggers[name])
	// Its intent goes with it: a service of that name defined later
	// starts enabled, a group with its file's number.
	r.keepIntent(ctx, []history.Record{{Kind: intent.RecordKind, Key: name}}, nil)
	s := st.specs[name]
	delete(st.specs, name)
	delete(st.summaries, name)
	delete(st.loggers, name)
	delete(st.aliases, name)
	for _, a := range s.Provides {
		delete(st.aliases, a)
	}
}

// unload stops a service (and so its dependents), then forgets it.
func (r *registry) unload(ctx actor.Context, name string, msg *ClientRequest) {
	st := r.st
	for other, s := range st.specs {
		if other != name && slices.Contains(s.Requires, name) {
			msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest,
				"cannot unload %s: service %s requires it (unload %s first)", name, other, other))
			return
		}
		if key := namedBy(s, name); other != name && key != "" {
			msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest,
				"cannot unload %s: service %s names it in %s (unload %s first, or reload without it)", name, other, key, other))
			return
		}
	}
	r.stopThen(ctx, name, func(res lifecycle.Result) {
		r.forget(ctx, name)
		r.updateDependents(ctx)
		msg.Reply <- service.ClientReply(name, msg.Req.ID, res)
	})
}

// ImportRecordKind is the history store's record kind of imported
// capabilities, registered again at every start.
const ImportRecordKind = "import"

// importedFrom is the file an imported capability's definition names:
// none, so a reload leaves it alone.
const importedFrom = "cap import"

// importCap makes a capability another daemon exported a local proxy
// service: `herd cap import NAME REF`.
func (r *registry) importCap(ctx actor.Context, msg *ClientRequest) {
	if len(msg.Req.Args) != 2 {
		msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest, "cap import needs a name and a sturdyref"))
		return
	}
	name, ref := msg.Req.Args[0], msg.Req.Args[1]
	if _, err := capability.ParseSturdyref(ref); err != nil {
		msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest, "%v", err))
		return
	}
	spec, err := ImportedSpec(name, ref)
	if err == nil {
		_, err = r.register(ctx, []*services.Spec{spec}, nil, false)
	}
	if err != nil {
		msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.InvalidConfig, "%v", err))
		return
	}
	// Kept for the next start by the history writer; answered once it
	// is durable (importStored).
	b, _ := json.Marshal(map[string]string{"name": name, "ref": ref})
	ctx.Send(r.st.env.Service.Historian, &historian.PutRecord{
		Record: history.Record{Kind: ImportRecordKind, Key: name, Value: b},
		AckTo:  ctx.Self(), AckMsg: &importStored{req: msg, name: name},
	})
}

// importStored is the history writer's answer to the record of an
// imported capability.
type importStored struct {
	req  *ClientRequest
	name string
	err  error
}

func (m *importStored) SetRecordErr(err error) { m.err = err }

func (r *registry) onImportStored(m *importStored) {
	if m.err != nil {
		// The proxy is there: it works until the daemon stops.
		m.req.Reply <- wire.ErrReply(m.req.Req.ID, wire.Errorf(wire.InvalidConfig,
			"%s is imported until the daemon stops, but could not be kept for its next start: %v", m.name, m.err))
		return
	}
	m.req.Reply <- wire.OKReply(m.req.Req.ID, wire.LoadResult{Loaded: []string{m.name}})
}

// ImportedSpec is the definition of an imported capability's proxy.
func ImportedSpec(name, ref string) (*services.Spec, error) {
	specs, errs := config.Parse(importedFrom, []byte(fmt.Sprintf("services:\n  - name: %q\n    remote: %q\n    auto-start: false\n", name, ref)), nil)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return specs[0], nil
}
