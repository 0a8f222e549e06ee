package cli

import (
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// newCmdLifecycle builds start, stop, restart, enable and disable: they
// differ only in the action they send.
func newCmdLifecycle(f *Factory, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action + " SERVICE",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.lifecycle(action, args[0])
		},
	}
}

func (f *Factory) lifecycle(action, service string) error {
	var res wire.ActionResult
	if done, err := f.call(wire.Request{Action: action, Service: service}, service, &res); done || err != nil {
		return err
	}
	switch res.Outcome {
	case wire.Enabled:
		f.say("Enabled service %s.", res.Service)
		return nil
	case wire.Disabled:
		f.say("Disabled service %s.", res.Service)
		return nil
	}
	steps := res.Steps
	if len(steps) == 0 {
		steps = []wire.Step{{Service: res.Service, Outcome: res.Outcome}}
	}
	f.printSteps(steps)
	return nil
}

func (f *Factory) printSteps(steps []wire.Step) {
	for _, s := range steps {
		switch s.Outcome {
		case wire.Started:
			f.say("Service %s has been started.", s.Service)
		case wire.Stopped:
			f.say("Service %s has been stopped.", s.Service)
		case wire.AlreadyRunning:
			f.say("Service %s is already running.", s.Service)
		}
	}
}
