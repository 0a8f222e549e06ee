package fleetcmd

import (
	"context"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/fleetshell"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/spf13/cobra"
)

// newCmdFleetShell wires herd fleet shell (package fleetshell) to fleet
// exec's own run-and-print code.
func newCmdFleetShell(f *cmdutil.Factory) *cobra.Command {
	var o fleetOptions
	var so sshOptions
	var stream bool
	var history string
	c := &cobra.Command{
		Use:   "shell [-g GROUP] [-t TAG] [-H HOSTS] [-x HOSTS]",
		Short: "A prompt that runs each line on the selected hosts, as fleet exec",
		Long: `A prompt that runs each line on the selected hosts as herd fleet exec does
(grouped, recorded in the fleet-run history). A line may start with
selectors that narrow the hosts for that line: @failed, @changed and
@differs (from the line before), @tag:TAG, @group:GROUP, @host:HOSTS,
@exclude:HOSTS. Tab completes them, Ctrl-R searches the history (kept in
--history, mode 0600), Ctrl-C ends the running line, Ctrl-D leaves (exit
0). Without a terminal it reads lines from its input with no prompt, and
exits with the status of the last line. No --json: use fleet exec.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.JSON {
				return cmdutil.UsageError("fleet shell has no --json mode: run each command with herd --json fleet exec")
			}
			inv, hosts, err := selectInventory(f, &o)
			if err != nil {
				return err
			}
			code := fleetshell.Run(fleetshell.Config{
				In: f.In, Out: f.Out, Err: f.Err, Term: cmdutil.RawWriter(f.Out), TermErr: cmdutil.RawWriter(f.Err),
				Inventory: inv, Hosts: hosts, Selector: o.sel.String(), History: history,
				Exec: func(ctx context.Context, hosts []*fleet.Host, argv []string, selector string) (fleetshell.Ran, error) {
					ran, err := runExec(ctx, f, hosts, argv, selector, &so, execOutput{group: !stream, stream: stream, earlier: true})
					out := fleetshell.Ran{Results: ran.results}
					if ran.earlier != nil {
						out.Earlier = fromWire(ran.earlier.Results)
					}
					return out, err
				},
			})
			if code != 0 {
				return cmdutil.Failure{Code: code}
			}
			return nil
		},
	}
	o.flags(c)
	so.flags(c)
	c.Flags().BoolVar(&stream, "stream", false, "print each host's lines as HOST: line as it finishes (default: grouped)")
	c.Flags().StringVar(&history, "history", fleetshell.DefaultHistory(), "the file that keeps the lines typed ('': none)")
	return c
}
