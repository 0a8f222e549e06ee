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
			rep, err := f.request(wire.Request{Action: "load", Args: []string{path}})
			if err != nil {
				return err
			}
			if !rep.OK {
				return f.replyError(rep.Error, "")
			}
			var res wire.LoadResult
			if printed, err := f.decode(rep, &res); printed || err != nil {
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
			rep, err := f.request(wire.Request{Action: "unload", Service: args[0]})
			if err != nil {
				return err
			}
			if !rep.OK {
				return f.replyError(rep.Error, args[0])
			}
			var res wire.ActionResult
			if printed, err := f.decode(rep, &res); printed || err != nil {
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
			rep, err := f.request(wire.Request{Action: "reload"})
			if err != nil {
				return err
			}
			if !rep.OK {
				return f.replyError(rep.Error, "")
			}
			var res wire.ReloadResult
			if printed, err := f.decode(rep, &res); printed || err != nil {
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
