package registry

import (
	"slices"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/group"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/intent"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// The services' intent outlives the daemon (services/intent): the
// controllers keep whether each service and instance is disabled, the
// registry how many instances each scaled group runs. A service that is
// forgotten (unload, reload, a scale down) takes its record with it.

// Boot is what a daemon that starts (not a re-exec) brings back of its
// services' intent: Register it with them.
type Boot struct {
	// Specs are the configuration's, each scaled group with the number
	// of instances it runs; Declared the numbers their files say.
	Specs    []*services.Spec
	Declared map[string]int
	// Disabled are the services and instances that start disabled.
	Disabled map[string]lifecycle.Disabled
	// Forget deletes the records that no longer apply.
	Forget []history.Record
}

// BootIntent reads the kept intents and decides (intent.Decide) what
// comes back for specs, the configuration's services; it logs what it
// brings back and what it ignores. A store it cannot read brings nothing
// back (and forgets nothing).
func BootIntent(store interface {
	RecordsByKey(kind string) (map[string][]byte, error)
}, specs []*services.Spec, logf func(string, ...any)) *Boot {
	recs, err := store.RecordsByKey(intent.RecordKind)
	if err != nil {
		logf("history: the services' kept intent cannot be read, every service starts enabled with its file's instances: %v", err)
		return &Boot{Specs: specs}
	}
	plan := intent.Decide(recs, specs)
	for _, l := range plan.Logs {
		logf("%s", l)
	}
	b := &Boot{Disabled: plan.Disabled}
	b.Specs, b.Declared = plan.Apply(specs)
	for _, key := range plan.Drop {
		b.Forget = append(b.Forget, history.Record{Kind: intent.RecordKind, Key: key})
	}
	return b
}

// bootDisabled is the kept intent of a service registered at the start
// (nil: enabled, or not at the start).
func (r *registry) bootDisabled(name string) *lifecycle.Disabled {
	d, ok := r.st.disabled[name]
	if !ok {
		return nil
	}
	return &d
}

// declare gives each scaled group of a start or a re-exec its file's
// number (declared) as its definition's, beside the number it runs.
func (r *registry) declare(ctx actor.Context, declared map[string]int) {
	st := r.st
	for g, n := range declared {
		if s, ok := st.specs[g]; ok && s.Instances > 0 && n > 0 {
			c := *s
			c.Instances = n
			st.specs[g] = &c
		}
	}
	for g := range st.instancesOf {
		r.tellGroup(ctx, g)
		r.groupSummary(g)
	}
}

// rekeep writes again, after a re-exec, the intent of every service
// handed over, as it is now: a daemon that kept none (an older binary)
// or that was run in between (a downgrade) leaves the store as the
// services are.
func (r *registry) rekeep(ctx actor.Context, restored map[string]service.Saved) {
	var recs []history.Record
	for name, saved := range restored {
		if _, ok := r.st.specs[name]; ok {
			m := saved.Machine
			key, value := intent.ServiceRecord(name, lifecycle.KeepIntent{Enabled: m.Enabled, Disabled: m.Disabled})
			recs = append(recs, history.Record{Kind: intent.RecordKind, Key: key, Value: value})
		}
	}
	for g := range r.st.instancesOf {
		recs = append(recs, r.groupRecord(g))
	}
	r.keepIntent(ctx, recs, nil)
}

// tellGroup tells a group its instances and its file's number.
func (r *registry) tellGroup(ctx actor.Context, name string) {
	st := r.st
	ctx.Send(service.ControllerPID(ctx.Self(), name), &group.SetInstances{
		Names: slices.Clone(st.instancesOf[name]), Declared: st.specs[name].Instances,
	})
}

// groupRecord is the kept scale of a group: none when it runs its
// file's number.
func (r *registry) groupRecord(name string) history.Record {
	key, value := intent.GroupRecord(name, len(r.st.instancesOf[name]), r.st.specs[name].Instances)
	return history.Record{Kind: intent.RecordKind, Key: key, Value: value}
}

// intentKept: the records of keepIntent are durable (or the history is
// degraded and nothing waits for it).
type intentKept struct{ then func() }

// keepIntent writes intent records through the history writer, synced;
// then, if set, runs in Receive once they are durable.
func (r *registry) keepIntent(ctx actor.Context, recs []history.Record, then func()) {
	if len(recs) == 0 {
		if then != nil {
			then()
		}
		return
	}
	rec := &historian.Record{Records: recs, Sync: true}
	if then != nil {
		rec.AckTo, rec.AckMsg = ctx.Self(), &intentKept{then: then}
	}
	ctx.Send(r.st.env.Service.Historian, rec)
}
