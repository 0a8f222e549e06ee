package cli

import (
	"strings"

	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// newCmdAction runs a service's custom action: `herd ACTION SERVICE ARGS`
// is routed here as `herd action ACTION SERVICE ARGS`.
func newCmdAction(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "action ACTION SERVICE [ARG...]",
		Short:  "Run a custom action of a service",
		Hidden: true,
		Args:   cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.customAction(args[0], args[1], args[2:])
		},
	}
	// Everything after SERVICE belongs to the action, dashes included.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func (f *Factory) customAction(action, service string, args []string) error {
	rep, err := f.request(wire.Request{Action: action, Service: service, Args: args})
	if err != nil {
		return err
	}
	if !rep.OK {
		if rep.Error != nil && rep.Error.Action == "" {
			rep.Error.Action = action
		}
		return f.replyError(rep.Error, service)
	}
	var res wire.ActionResult
	if printed, err := f.decode(rep, &res); err != nil {
		return err
	} else if !printed {
		f.Out.Write([]byte(res.Output))
		if res.Output != "" && !strings.HasSuffix(res.Output, "\n") {
			f.Out.Write([]byte("\n"))
		}
	}
	if res.ExitCode != 0 {
		return failure{ExitFailure}
	}
	return nil
}
