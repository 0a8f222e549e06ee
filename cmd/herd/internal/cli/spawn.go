package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// ExitInterrupted is herd's exit status when the user interrupts `spawn
// --wait` (as a shell's for SIGINT): the transient runs on.
const ExitInterrupted = 130

// newCmdSpawn builds `herd spawn [--name N] [--user U] [--respawn]
// [--wait] -- COMMAND [ARG...]`: a transient service (GNU Shepherd 1.0's
// `herd spawn transient`, systemd-run's), which the daemon removes once
// it stops.
func newCmdSpawn(f *cmdutil.Factory) *cobra.Command {
	var args wire.SpawnArgs
	cmd := &cobra.Command{
		Use:   "spawn [--name NAME] [--user USER] [--respawn] [--wait] -- COMMAND [ARG...]",
		Short: "Run a command as a transient service, removed once it stops (--wait: its output, and its exit status)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if dash := cmd.ArgsLenAtDash(); dash > 0 {
				return cmdutil.UsageError(fmt.Sprintf("spawn: %q before --: options go before --, the command after it", strings.Join(argv[:dash], " ")))
			}
			args.Command = argv
			b, err := json.Marshal(args)
			if err != nil {
				return f.Fail(err.Error())
			}
			req := wire.Request{Action: "spawn", Args: []string{string(b)}}
			if args.Wait {
				return spawnWait(f, req)
			}
			var res wire.SpawnResult
			if done, err := f.Call(req, "", &res); done || err != nil {
				return err
			}
			f.Say("Spawned transient service %s%s.", res.Service, pidNote(res.PID))
			return nil
		},
	}
	cmd.Flags().StringVar(&args.Name, "name", "", "the service's name (default: transient-N)")
	cmd.Flags().StringVar(&args.User, "user", "", "run the command as USER (any but the daemon's own: a daemon running as root only)")
	cmd.Flags().BoolVar(&args.Respawn, "respawn", false, "respawn the command when it exits, as a service with respawn: true")
	cmd.Flags().BoolVar(&args.Wait, "wait", false, "print the command's output until it ends, and exit with its exit status")
	return cmd
}

func pidNote(pid int) string {
	if pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (PID %d)", pid)
}

// spawnWait prints the transient's output as it comes, then exits with
// its exit status (128 + the signal's number for a process killed, as
// shells do); with --json, a LogEntry line per output line and a
// SpawnResult line at the end.
func spawnWait(f *cmdutil.Factory, req wire.Request) error {
	var final *wire.SpawnResult
	name := ""
	err := f.Stream(req, "", func(raw json.RawMessage, _ bool) error {
		var frame struct {
			wire.SpawnResult
			Entries []wire.LogEntry `json:"entries"`
		}
		if err := json.Unmarshal(raw, &frame); err != nil {
			return err
		}
		if frame.Service != "" {
			final = &frame.SpawnResult
			return nil
		}
		for _, e := range frame.Entries {
			name = e.Service
			if f.JSON {
				if err := f.PrintDoc(e); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintln(f.Out, Unstamp(e.Text))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if final == nil {
		if name != "" {
			fmt.Fprintf(f.Err, "herd: stopped waiting; transient service %s runs on (herd stop %s)\n", name, name)
		}
		return cmdutil.Failure{Code: ExitInterrupted}
	}
	if final.OutputDropped {
		fmt.Fprintf(f.Err, "herd: warning: output lines of %s were dropped (the client read too slowly); its log file has them\n", final.Service)
	}
	if f.JSON {
		if err := f.PrintDoc(final); err != nil {
			return err
		}
	}
	if final.Status != 0 {
		return cmdutil.Failure{Code: final.Status}
	}
	return nil
}

// Unstamp is an output line without the time stamp its logger put
// before it (YYYY-MM-DD HH:MM:SS and a space); a line without one is
// left whole.
func Unstamp(line string) string {
	const layout = "2006-01-02 15:04:05"
	if len(line) > len(layout) && line[len(layout)] == ' ' {
		if _, err := time.Parse(layout, line[:len(layout)]); err == nil {
			return line[len(layout)+1:]
		}
	}
	return line
}
