package service

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/intent"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// intentRecord is the history store's record of a change of intent
// (services/intent), kept in the batch of the step's events.
func (st *ControllerState) intentRecord(k lifecycle.KeepIntent) history.Record {
	key, value := intent.ServiceRecord(st.spec.Name, k)
	return history.Record{Kind: intent.RecordKind, Key: key, Value: value}
}

// BootController is the state of a service's controller at the start of
// the daemon, from its kept intent (nil: enabled; see lifecycle.Boot).
func BootController(env Env, s *services.Spec, d *lifecycle.Disabled, logger *actor.PID) *ControllerState {
	m, effects := lifecycle.Boot(env.policyOf(s), d, time.Now())
	cs := newControllerState(env, s, m, logger)
	cs.restoreEffects = effects
	return cs
}

// disabledInfo says why a service is disabled, for status.
func disabledInfo(snap lifecycle.Snapshot) *wire.DisabledInfo {
	d := snap.Disabled
	if snap.Enabled || d.Cause == lifecycle.CauseNone {
		return nil
	}
	by, _ := d.Cause.MarshalText() // wire.DisabledByUser, DisabledByRespawnLimit
	return &wire.DisabledInfo{Since: d.At, By: string(by), Who: d.Who, Reason: d.Reason}
}
