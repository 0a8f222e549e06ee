package registry

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// Load and reload read files, and reading a file looks up the users and
// groups it names: through NSS, which may wait seconds on LDAP or SSSD.
// So the files are read in a goroutine, never in Receive, and the
// registry goes on answering meanwhile (herd status, the controllers'
// changes of state). What was read comes back as a message (parsed),
// and is validated with the known services and registered in Receive,
// at once: an invalid configuration changes nothing.
//
// One load or reload is read at a time; the others wait their turn, so
// that each applies to what the one before it left: a reload reads the
// files a load before it added, and nothing is loaded between a reload's
// reading and its applying.

// parsed is what a load or reload read.
type parsed struct {
	req   *ClientRequest
	specs []*services.Spec
	errs  services.ErrorList
	err   error // the files could not be read
}

// errReadPanicked is a read that ended in a panic (its stack is in the
// daemon log, from the goroutine's recover).
var errReadPanicked = errors.New("internal error while reading the configuration (see the daemon log)")

// configRequest starts a load or reload, or queues it behind the one
// being read.
func (r *registry) configRequest(ctx actor.Context, msg *ClientRequest) {
	st := r.st
	switch {
	case st.stopping:
		msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest, "the daemon is stopping"))
	case st.reading:
		st.configQueue = append(st.configQueue, msg)
	default:
		r.read(ctx, msg)
	}
}

// read reads a load's file, or a reload's files, in a goroutine that
// sends what it read back as parsed.
func (r *registry) read(ctx actor.Context, msg *ClientRequest) {
	st := r.st
	files := st.files
	if msg.Req.Action == "load" {
		if len(msg.Req.Args) != 1 {
			msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest, "load needs exactly one file"))
			return
		}
		files = msg.Req.Args
	}
	files = slices.Clone(files)
	st.reading = true
	acc := st.env.Accounts
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	st.env.Service.Go(func() {
		p := &parsed{req: msg, err: errReadPanicked}
		defer func() { send(self, p) }()
		var specs []*services.Spec
		var errs services.ErrorList
		for _, f := range files {
			cfg, perrs, err := config.ParsePath(f, acc)
			if err != nil {
				p.err = err
				return
			}
			specs = append(specs, cfg.Services...)
			errs = append(errs, perrs...)
		}
		p.specs, p.errs, p.err = specs, errs, nil
	})
}

// onParsed applies what a load or reload read, then starts the next.
func (r *registry) onParsed(ctx actor.Context, p *parsed) {
	st := r.st
	st.reading = false
	switch {
	case st.stopping:
		p.req.Reply <- wire.ErrReply(p.req.Req.ID, wire.Errorf(wire.BadRequest, "the daemon is stopping"))
	case p.req.Req.Action == "load":
		r.load(ctx, p.req, p)
	default:
		r.reload(ctx, p.req, p)
	}
	for !st.reading && len(st.configQueue) > 0 {
		next := st.configQueue[0]
		st.configQueue = st.configQueue[1:]
		r.configRequest(ctx, next)
	}
}

// load registers the services of a file read for `herd load`, with the
// others or not at all.
func (r *registry) load(ctx actor.Context, msg *ClientRequest, p *parsed) {
	err := p.err
	if err == nil {
		var names []string
		names, err = r.register(ctx, p.specs, p.errs, true)
		if err == nil {
			r.st.files = append(r.st.files, msg.Req.Args[0])
			ctx.Send(r.st.env.Service.Historian, &historian.Record{Events: []history.Event{{
				Kind: history.KindLoad, Who: msg.Who, Message: msg.Req.Args[0] + ": " + strings.Join(names, " "),
			}}})
			msg.Reply <- wire.OKReply(msg.Req.ID, wire.LoadResult{Loaded: names})
			return
		}
	}
	msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.InvalidConfig, "%v", err))
}

// reload applies the configuration files read again: the difference:
// new services are added (and auto-started), removed ones stopped and
// forgotten, changed ones get their new definition at their next start.
// An invalid configuration changes nothing.
func (r *registry) reload(ctx actor.Context, msg *ClientRequest, p *parsed) {
	st := r.st
	fail := func(err error) {
		msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.InvalidConfig, "%v; nothing was changed", err))
	}
	if p.err != nil {
		fail(p.err)
		return
	}
	specs := p.specs
	p.errs = append(p.errs, services.CheckCgroupLimits(specs, st.env.Cgroups)...)
	// Transients stay: a file's service may not take a transient's name.
	kept := slices.Clone(specs)
	for name := range st.transients.byName {
		c := *st.specs[name]
		kept = append(kept, &c)
	}
	if err := append(p.errs, services.Validate(kept)...).Err(); err != nil {
		fail(err)
		return
	}
	var res wire.ReloadResult
	var added []*services.Spec
	var resizes []string
	seen := map[string]bool{}
	for _, s := range specs {
		seen[s.Name] = true
		old, ok := st.specs[s.Name]
		switch {
		case !ok:
			added = append(added, s)
			res.Added = append(res.Added, s.Name)
		case old.Instances > 0 && s.Instances > 0:
			if r.reloadGroup(ctx, old, s, &res) {
				resizes = append(resizes, s.Name)
			}
		case !sameSpec(old, s):
			res.Changed = append(res.Changed, s.Name)
			for _, a := range old.Provides {
				delete(st.aliases, a)
			}
			st.specs[s.Name] = s
			r.setAliases(s)
			ctx.Send(service.ControllerPID(ctx.Self(), s.Name), &service.ReplaceSpec{Spec: s})
			r.retime(ctx, old, s)
		}
	}
	for name, s := range st.specs {
		// Instances come and go with their group; imported
		// capabilities and transients are no file's (herd unload
		// removes them).
		if _, instance := st.groupOf[name]; !seen[name] && !instance && s.Pos.File != importedFrom && !s.Transient {
			res.Removed = append(res.Removed, name)
		}
	}
	slices.Sort(res.Removed)
	if _, err := r.add(ctx, added, nil); err != nil {
		st.env.Service.Logf("reload: %v", err)
	}
	r.updateDependents(ctx)
	r.autoStart(ctx, added)
	ctx.Send(st.env.Service.Historian, &historian.Record{Events: []history.Event{{
		Kind: history.KindLoad, Who: msg.Who,
		Message: fmt.Sprintf("reload: added [%s] removed [%s] changed [%s]", strings.Join(res.Added, " "), strings.Join(res.Removed, " "), strings.Join(res.Changed, " ")),
	}}})
	st.env.Service.Logf("configuration reloaded: %d added, %d removed, %d changed", len(res.Added), len(res.Removed), len(res.Changed))
	// The answer waits for the services and instances that go to be down.
	left := 1
	finish := func() {
		if left--; left == 0 {
			r.updateDependents(ctx)
			msg.Reply <- wire.OKReply(msg.Req.ID, res)
		}
	}
	for _, name := range resizes {
		left++
		n := st.specs[name].Instances
		st.env.Service.Logf("reload: service %s now has %d instances, as its file says", name, n)
		r.resize(ctx, name, n, func(err error) {
			if err != nil {
				st.env.Service.Logf("reload: %v", err)
			}
			finish()
		})
	}
	// A group's scale is kept while its file says the same number
	// (reloadGroup); else its record goes.
	var groups []history.Record
	for name := range st.instancesOf {
		if seen[name] {
			r.tellGroup(ctx, name)
			groups = append(groups, r.groupRecord(name))
		}
	}
	r.keepIntent(ctx, groups, nil)
	for _, name := range res.Removed {
		left++
		r.stopThen(ctx, name, func(lifecycle.Result) {
			r.forget(ctx, name)
			finish()
		})
	}
	finish()
}

// reloadGroup takes a group's reloaded definition and reports whether its
// number of instances must change: only when its file changed it. A group
// whose file says the same number keeps the number it has, which a scale
// may have set (kubectl apply treats replicas the same way). Any other
// change reaches the group and each instance as a replacement, applied
// when they next start, like a service's.
func (r *registry) reloadGroup(ctx actor.Context, old, s *services.Spec, res *wire.ReloadResult) (resize bool) {
	st := r.st
	x, y := *old, *s
	x.Instances, y.Instances = 0, 0
	if !sameSpec(&x, &y) {
		res.Changed = append(res.Changed, s.Name)
		for _, a := range old.Provides {
			delete(st.aliases, a)
		}
		r.setAliases(s)
		ctx.Send(service.ControllerPID(ctx.Self(), s.Name), &service.ReplaceSpec{Spec: s})
		for i, name := range st.instancesOf[s.Name] {
			inst := s.Instance(i + 1)
			st.specs[name] = inst
			ctx.Send(service.ControllerPID(ctx.Self(), name), &service.ReplaceSpec{Spec: inst})
		}
	}
	st.specs[s.Name] = s
	return s.Instances != old.Instances && s.Instances != len(st.instancesOf[s.Name])
}

// sameSpec compares two definitions, wherever they were written.
func sameSpec(a, b *services.Spec) bool {
	x, y := *a, *b
	x.Pos, y.Pos = services.Pos{}, services.Pos{}
	return reflect.DeepEqual(x, y)
}
