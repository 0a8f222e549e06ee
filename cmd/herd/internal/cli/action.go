package cli

import (
	"strings"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// newCmdAction runs a service's custom action: `herd ACTION SERVICE ARGS`
// is routed here as `herd action ACTION SERVICE ARGS`.
func newCmdAction(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "action ACTION SERVICE [ARG...]",
		Short:  "Run a custom action of a service",
		Hidden: true,
		Args:   cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return customAction(f, cmd.Root(), args[0], args[1], args[2:])
		},
	}
	// Everything after SERVICE belongs to the action, dashes included.
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func customAction(f *cmdutil.Factory, root *cobra.Command, action, service string, args []string) error {
	rep, err := f.Request(wire.Request{Action: action, Service: service, Args: args})
	if err != nil {
		return err
	}
	if !rep.OK {
		if rep.Error != nil && rep.Error.Action == "" {
			rep.Error.Action = action
		}
		return unknownAction(f, root, rep.Error, action, service)
	}
	var res wire.ActionResult
	if printed, err := f.Decode(rep, &res); err != nil {
		return err
	} else if !printed {
		f.Out.Write([]byte(res.Output))
		if res.Output != "" && !strings.HasSuffix(res.Output, "\n") {
			f.Out.Write([]byte("\n"))
		}
	}
	if res.ExitCode != 0 {
		return cmdutil.Failure{Code: cmdutil.ExitFailure}
	}
	return nil
}
