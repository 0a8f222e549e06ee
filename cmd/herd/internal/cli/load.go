package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdLoad(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "load FILE",
		Short: "Add the services of a file to the running daemon",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := filepath.Abs(args[0])
			if err != nil {
				return f.Fail(err.Error())
			}
			var res wire.LoadResult
			if done, err := f.Call(wire.Request{Action: "load", Args: []string{path}}, "", &res); done || err != nil {
				return err
			}
			if len(res.Loaded) == 1 {
				f.Say("Loaded service %s.", res.Loaded[0])
			} else {
				f.Say("Loaded %d services: %s.", len(res.Loaded), strings.Join(res.Loaded, " "))
			}
			return nil
		},
	}
}

func newCmdUnload(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "unload SERVICE",
		Short: "Stop a service and remove it from the daemon",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res wire.ActionResult
			if done, err := f.Call(wire.Request{Action: "unload", Service: args[0]}, args[0], &res); done || err != nil {
				return err
			}
			f.PrintSteps(res.Steps)
			f.Say("Unloaded service %s.", res.Service)
			return nil
		},
	}
}

func newCmdReload(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "reload [SERVICE [ARG...]]",
		Short: "Re-read the daemon's configuration (with a service: its reload action)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return customAction(f, cmd.Root(), "reload", args[0], args[1:])
			}
			var res wire.ReloadResult
			if done, err := f.Call(wire.Request{Action: "reload"}, "", &res); done || err != nil {
				return err
			}
			for _, n := range res.Added {
				f.Say("Added service %s.", n)
			}
			for _, n := range res.Removed {
				f.Say("Removed service %s.", n)
			}
			for _, n := range res.Changed {
				f.Say("Service %s will be replaced when it next starts.", n)
			}
			for _, n := range res.Sections { // notify, jobs, monitors, collect
				f.Say("Applied the changed %s: section.", n)
			}
			f.Say("Configuration reloaded.")
			return nil
		},
	}
}

// upgradeWait bounds the wait for the re-executed daemon to answer.
const upgradeWait = 30 * time.Second

func newCmdUpgrade(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "upgrade",
		Short: "Re-execute the daemon's binary in place, keeping every service and process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := f.Request(wire.Request{Action: "upgrade"})
			if err != nil {
				return err
			}
			if !rep.OK {
				return f.ReplyError(rep.Error, "")
			}
			var res wire.UpgradeResult
			if err := json.Unmarshal(rep.Result, &res); err != nil {
				return f.Fail("malformed reply from the daemon: " + err.Error())
			}
			// The daemon answered just before its execve: wait until the
			// new binary answers for the same PID.
			deadline := time.Now().Add(upgradeWait)
			for {
				st, err := rootStatus(f)
				if err == nil && st.PID == res.PID && st.Daemon != nil && st.Daemon.Reexecs >= res.Reexecs {
					break
				}
				if time.Now().After(deadline) {
					return f.FailKind(wire.Timeout, fmt.Sprintf("the daemon (PID %d) did not answer within %v of its re-exec; see its log", res.PID, upgradeWait))
				}
				time.Sleep(20 * time.Millisecond)
			}
			if f.JSON {
				return f.PrintDoc(res)
			}
			f.Say("Shepherd has been re-executed in place (PID %d, re-executed %s since it first started).", res.PID, plural(res.Reexecs, "time"))
			return nil
		},
	}
}

// rootStatus asks the daemon for its own status, printing nothing.
func rootStatus(f *cmdutil.Factory) (wire.Status, error) {
	var st wire.Status
	rep, err := f.QuietCall(wire.Request{Service: wire.RootService, Action: "status"}, time.Second)
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(rep.Result, &st)
}
