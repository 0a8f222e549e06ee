package registry

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/services"
)

// Timer services (services.Timer): beside its controller, each has a
// timer actor (Env.Timers makes it; actors/timer), a child of the
// registry named "timer:NAME", that starts the service when it fires. It
// comes and goes with its service: made when the service is added (a
// load, a reload, a spawn of `herd schedule`, the services a re-exec
// hands over), told a reloaded definition, stopped when it is
// forgotten.

// TimerPID is the address of a service's timer actor.
func TimerPID(registry *actor.PID, name string) *actor.PID {
	return actor.NewPID(registry.Address, registry.Id+"/timer:"+name)
}

// addTimer spawns the timer actor of a timer service just added.
func (r *registry) addTimer(ctx actor.Context, s *services.Spec) {
	if s.Timer == nil || r.st.env.Timers == nil {
		return
	}
	if _, err := r.spawnNamed(ctx, r.st.env.Timers(s, service.ControllerPID(ctx.Self(), s.Name)), "timer:"+s.Name); err != nil {
		r.st.env.Service.Logf("service %s: its timer could not be made, it will not fire: %v", s.Name, err)
	}
}

// retime follows a reload's change of a service's definition: its timer
// gets the new one, or comes, or goes.
func (r *registry) retime(ctx actor.Context, old, s *services.Spec) {
	switch {
	case old.Timer != nil && s.Timer != nil:
		ctx.Send(TimerPID(ctx.Self(), s.Name), &service.ReplaceSpec{Spec: s})
	case old.Timer != nil:
		ctx.Stop(TimerPID(ctx.Self(), s.Name))
	default:
		r.addTimer(ctx, s)
	}
}
