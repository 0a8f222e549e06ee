package cli

import (
	"path/filepath"
	"strings"

	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdLoad(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "load FILE",
		Short: "Add the services of a file to the running daemon",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := filepath.Abs(args[0])
			if err != nil {
				return f.fail(err.Error())
			}
			var res wire.LoadResult
			if done, err := f.call(wire.Request{Action: "load", Args: []string{path}}, "", &res); done || err != nil {
				return err
			}
			if len(res.Loaded) == 1 {
				f.say("Loaded service %s.", res.Loaded[0])
			} else {
				f.say("Loaded %d services: %s.", len(res.Loaded), strings.Join(res.Loaded, " "))
			}
			return nil
		},
	}
}

func newCmdUnload(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "unload SERVICE",
		Short: "Stop a service and remove it from the daemon",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res wire.ActionResult
			if done, err := f.call(wire.Request{Action: "unload", Service: args[0]}, args[0], &res); done || err != nil {
				return err
			}
			f.printSteps(res.Steps)
			f.say("Unloaded service %s.", res.Service)
			return nil
		},
	}
}

func newCmdReload(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "reload [SERVICE [ARG...]]",
		Short: "Re-read the daemon's configuration (with a service: its reload action)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return f.customAction("reload", args[0], args[1:])
			}
			var res wire.ReloadResult
			if done, err := f.call(wire.Request{Action: "reload"}, "", &res); done || err != nil {
				return err
			}
			for _, n := range res.Added {
				f.say("Added service %s.", n)
			}
			for _, n := range res.Removed {
				f.say("Removed service %s.", n)
			}
			for _, n := range res.Changed {
				f.say("Service %s will be replaced when it next starts.", n)
			}
			f.say("Configuration reloaded.")
			return nil
		},
	}
}
