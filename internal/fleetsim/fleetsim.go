package fleetsim

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/caretaker"
	"github.com/shepherd-go/shepherd/actors/execrunner"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/monitor"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/fleet/relay"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/exectarget"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/p2p"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Sim is the process's shared machinery: the actor system, the output
// pump, the monitor and the reaper, which every exporter uses as a
// daemon's exec target uses its own.
type Sim struct {
	system  *actor.ActorSystem
	pump    *proc.Pump
	monitor *actor.PID
	stop    chan struct{}
	wg      sync.WaitGroup
	logf    func(string, ...any)
	environ []string

	mu        sync.Mutex
	exporters []*Exporter
	// Audited counts the audit events the caretakers made (a daemon
	// writes them to its history).
	Audited atomic.Int64
}

// Start starts the shared machinery; it reaps every child of the
// process from now on.
func Start(logf func(string, ...any)) (*Sim, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	quiet := actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	})
	s := &Sim{system: actor.NewActorSystem(quiet), stop: make(chan struct{}), logf: logf, environ: proc.Environ(proc.BaseEnvironment())}
	var err error
	if s.pump, err = proc.NewPump(func(owner, msg any) { s.system.Root.Send(owner.(*actor.PID), msg) }); err != nil {
		return nil, err
	}
	s.wg.Go(s.pump.Run)
	props, err := monitor.NewProps(monitor.Env{Pump: s.pump, Go: s.wg.Go, Logf: logf})
	if err != nil {
		return nil, err
	}
	s.monitor = s.system.Root.Spawn(props)
	mon := s.monitor
	s.wg.Go(func() { proc.Reap(func(e proc.Exit) { s.system.Root.Send(mon, e) }, s.stop, nil) })
	return s, nil
}

// Exporter is one simulated shepherd's network side.
type Exporter struct {
	Name string
	// Ref is the exec capability the holder keeps in its inventory (an
	// attenuated child of a broader grant, bound to no peer, so that a
	// relay may present it); RelayRef, on a relay, its relay capability.
	Ref, RelayRef string

	sim       *Sim
	host      *p2p.Host
	srv       *local.Server
	id        string
	caretaker *actor.PID
	relay     bool
}

// Options of one exporter.
type Options struct {
	Name string
	// Allow is the holder's exec capability's allow-list; ParentAllow
	// that of the grant it was attenuated from (the exporter's own).
	Allow, ParentAllow []string
	// Relay makes the exporter a relay shepherd too.
	Relay bool
	// Fanout is a relay's hosts at once (0: relay.DefaultFanout).
	Fanout int
}

// Add starts one exporter listening on loopback TCP.
func (s *Sim) Add(o Options) (*Exporter, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	e := &Exporter{Name: o.Name, sim: s, relay: o.Relay}
	// Small resource bounds: the host is one of many in the process,
	// and a real host would set what its machine allows.
	cfg := p2p.Config{Key: key, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Memory: 8 << 20, Conns: 32, FDs: 64, Logf: s.logf}
	if o.Relay {
		cfg.Memory, cfg.Conns, cfg.FDs = 256<<20, 4096, 4352
	}
	h, srv, err := p2p.NewHostFor(cfg,
		local.HandlerFunc(func(ctx context.Context, p local.Peer, req wire.Request, out local.Responder) {
			e.serve(ctx, p, req, out, o.Fanout)
		}), s.wg.Go)
	if err != nil {
		return nil, err
	}
	e.host, e.srv, e.id = h, srv, h.ID()
	addrs := h.Addrs()
	now := time.Now()
	var grants []capability.Grant
	mk := func(target string, actions, allow []string, parent *capability.Swiss) capability.Swiss {
		sw, _ := capability.NewSwiss()
		grants = append(grants, capability.Grant{Swiss: sw, Target: target, Actions: actions, Allow: allow, Parent: parent, Created: now})
		return sw
	}
	root := mk(capability.ExecTarget, []string{"exec"}, o.ParentAllow, nil)
	child := mk(capability.ExecTarget, []string{"exec"}, o.Allow, &root)
	e.Ref = capability.Sturdyref{Peer: e.id, Swiss: child, Addrs: addrs}.String()
	if o.Relay {
		e.RelayRef = capability.Sturdyref{Peer: e.id, Swiss: mk(relay.Target, []string{relay.Action}, nil, nil), Addrs: addrs}.String()
	}
	props, err := caretaker.NewProps(caretaker.Env{
		Audit:     func(evs ...history.Event) { s.Audited.Add(int64(len(evs))) },
		Store:     memStore(grants),
		PutRecord: func(*historian.PutRecord) {},
		PeerID:    e.id,
		Addrs:     func() []string { return addrs },
	})
	if err != nil {
		e.close()
		return nil, err
	}
	e.caretaker = s.system.Root.Spawn(props)
	s.mu.Lock()
	s.exporters = append(s.exporters, e)
	s.mu.Unlock()
	return e, nil
}

// ID is the exporter's peer ID.
func (e *Exporter) ID() string { return e.id }

func (e *Exporter) close() {
	if e.srv != nil {
		e.srv.Close()
	}
	e.host.Close()
	if e.caretaker != nil {
		e.sim.system.Root.Stop(e.caretaker)
	}
}

// Close stops every exporter and the shared machinery.
func (s *Sim) Close() {
	s.mu.Lock()
	es := s.exporters
	s.exporters = nil
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range es {
		wg.Go(e.close)
	}
	wg.Wait()
	close(s.stop)
	s.pump.Stop()
	s.wg.Wait()
	s.system.Shutdown()
}

// serve is the network side of a daemon's request handling
// (daemon/api.go) for what an exporter serves: a network caller holds
// exactly what the capability it presents says; its refusals count
// against it (the gater), its authorized requests make it known.
func (e *Exporter) serve(ctx context.Context, p local.Peer, req wire.Request, out local.Responder, fanout int) {
	refuse := func(err *wire.Error) {
		e.host.Refused(p.Remote)
		out.Send(wire.ErrReply(req.ID, err))
	}
	if req.Cap == "" || strings.HasPrefix(req.Action, "cap-") {
		refuse(wire.Errorf(wire.PermissionDenied, "permission denied: present a capability for '%s'", req.Action))
		return
	}
	ref, err := capability.ParseSturdyref(req.Cap)
	if err != nil {
		out.Send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "--cap: %v", err)))
		return
	}
	if ref.Peer != e.id {
		refuse(wire.Errorf(wire.PermissionDenied, "permission denied: this daemon relays for local users only"))
		return
	}
	holder := capability.Holder{Peer: p.Remote}
	who := holder.String()
	if req.Relayed {
		holder, who = capability.Holder{}, who+" (relayed)"
	}
	auth := &caretaker.Authorize{Holder: holder, Who: who, Cap: &ref.Swiss}
	switch {
	case req.Action == "exec" && (req.Service == "" || req.Service == capability.ExecTarget):
		auth.Target, auth.Action, auth.Command = capability.ExecTarget, "exec", exectarget.Argv(req)
	case req.Action == relay.Action && e.relay:
		auth.Target, auth.Action = relay.Target, relay.Action
	default:
		refuse(wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s'", req.Action))
		return
	}
	ch := make(chan error, 1)
	auth.Reply = ch
	e.sim.system.Root.Send(e.caretaker, auth)
	select {
	case err = <-ch:
	case <-ctx.Done():
		return
	}
	if err != nil {
		werr := wire.Errorf(caretaker.ErrorKind(err), "%v", err)
		if werr.Kind == wire.PermissionDenied {
			werr = wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s' on '%s'", auth.Action, auth.Target)
			if auth.Command != nil {
				werr = exectarget.Denied(auth.Command)
			}
			e.host.Refused(p.Remote)
		}
		out.Send(wire.ErrReply(req.ID, werr))
		return
	}
	e.host.Authorized(p.Remote)
	if auth.Target == relay.Target {
		relay.Serve(ctx, relay.Env{Dial: e.dial, Fanout: fanout}, req, exectarget.Args, out)
		return
	}
	exectarget.Run(ctx, exectarget.Env{Root: e.sim.system.Root, Logf: e.sim.logf,
		Runner: execrunner.Env{Monitor: e.sim.monitor, Go: e.sim.wg.Go, Environ: e.sim.environ}}, req, who, out)
}

// dial opens a control stream to ref's daemon over libp2p only: a relay
// dials no unix socket for a caller from the network.
func (e *Exporter) dial(ctx context.Context, ref capability.Sturdyref) (*local.Client, error) {
	var addrs []string
	for _, a := range ref.Addrs {
		if !strings.HasPrefix(a, "/unix") {
			addrs = append(addrs, a)
		}
	}
	return e.host.Client(ctx, ref.Peer, addrs)
}

// memStore is an exporter's grants, in memory.
type memStore []capability.Grant

func (m memStore) Records(kind string) ([][]byte, error) {
	if kind != caretaker.GrantRecordKind {
		return nil, nil
	}
	out := make([][]byte, len(m))
	for i, g := range m {
		b, err := json.Marshal(g)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (memStore) Path() string { return "(fleetsim: in memory)" }

// Entry is one exporter as cmd/fleetsim lists it.
type Entry struct {
	Name     string `json:"name"`
	Peer     string `json:"peer"`
	Ref      string `json:"ref"`
	RelayRef string `json:"relay_ref,omitempty"`
}

// Entry describes e.
func (e *Exporter) Entry() Entry {
	return Entry{Name: e.Name, Peer: e.id, Ref: e.Ref, RelayRef: e.RelayRef}
}

// Inventory is a fleet inventory of hosts (groups: [sim]) and relays
// (groups: [relay]); with via, host i sits behind relay i mod len(relays).
func Inventory(hosts, relays []Entry, via bool) string {
	var b strings.Builder
	b.WriteString("hosts:\n")
	for _, r := range relays {
		fmt.Fprintf(&b, "  %s:\n    address: %q\n    groups: [relay]\n", r.Name, r.RelayRef)
	}
	for i, h := range hosts {
		fmt.Fprintf(&b, "  %s:\n    address: %q\n    groups: [sim]\n", h.Name, h.Ref)
		if via && len(relays) > 0 {
			fmt.Fprintf(&b, "    via: %s\n", relays[i%len(relays)].Name)
		}
	}
	return b.String()
}

// AddMany starts n exporters named prefix0001..., parallel at a time.
func (s *Sim) AddMany(n int, prefix string, o Options, parallel int) ([]*Exporter, error) {
	out := make([]*Exporter, n)
	errs := make([]error, n)
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			oi := o
			oi.Name = fmt.Sprintf("%s%04d", prefix, i+1)
			out[i], errs[i] = s.Add(oi)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("exporter %d of %d: %w", i+1, n, err)
		}
	}
	return out, nil
}
