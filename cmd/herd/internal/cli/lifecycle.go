package cli

import (
	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// newCmdLifecycle builds start, stop, restart, enable and disable: they
// differ only in the action they send. Each takes several services
// (cmdutil.EachService).
func newCmdLifecycle(f *cmdutil.Factory, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action + " SERVICE...",
		Short: short,
		Args:  needServices,
		RunE: func(cmd *cobra.Command, args []string) error {
			return lifecycleEach(f, action, args)
		},
	}
}

// lifecycleEach sends action for every service at once and says what
// each did, in argument order; a service that another one's action
// already started or stopped (a requirement, a dependent) is said once.
func lifecycleEach(f *cmdutil.Factory, action string, services []string) error {
	results := make([]*wire.ActionResult, len(services))
	said := map[wire.Step]bool{}
	return cmdutil.EachService(f, services, cmdutil.EachOpts{Key: "result", After: func(i int) {
		if res := results[i]; res != nil {
			sayOutcome(f, *res, said)
		}
	}}, func(g *cmdutil.Factory, i int) error {
		var res wire.ActionResult
		if done, err := g.Call(wire.Request{Action: action, Service: services[i]}, services[i], &res); done || err != nil {
			return err
		}
		results[i] = &res
		return nil
	})
}

func lifecycle(f *cmdutil.Factory, action, service string) error {
	return lifecycleEach(f, action, []string{service})
}

// sayOutcome prints what an action did, but what said holds (and adds
// what it prints there).
func sayOutcome(f *cmdutil.Factory, res wire.ActionResult, said map[wire.Step]bool) {
	switch res.Outcome {
	case wire.Enabled:
		f.Say("Enabled service %s.", res.Service)
		return
	case wire.Disabled:
		f.Say("Disabled service %s.", res.Service)
		return
	}
	steps := res.Steps
	if len(steps) == 0 {
		steps = []wire.Step{{Service: res.Service, Outcome: res.Outcome}}
	}
	var fresh []wire.Step
	for _, s := range steps {
		if !said[s] {
			said[s] = true
			fresh = append(fresh, s)
		}
	}
	f.PrintSteps(fresh)
}
