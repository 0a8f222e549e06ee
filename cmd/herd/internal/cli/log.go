package cli

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdLog(f *cmdutil.Factory) *cobra.Command {
	var lines int
	var follow bool
	cmd := &cobra.Command{
		Use:   "log [SERVICE] [-n N] [-f]",
		Short: "Show state transitions, or the services' own output with -n/-f (all of them merged, or one)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := wire.Request{Action: "log"}
			output := cmd.Flags().Changed("lines") || follow
			if output {
				// Without a service: every service's lines, merged.
				req.Args = []string{"-n", strconv.Itoa(lines)}
			}
			if len(args) == 1 {
				req.Service = args[0]
			}
			if follow {
				req.Args = append(req.Args, "-f")
				return followLog(f, req)
			}
			var res wire.LogResult
			if done, err := f.Call(req, req.Service, &res); done || err != nil {
				return err
			}
			printLog(f, res, output, req.Service == "")
			return nil
		},
	}
	cmd.Flags().IntVarP(&lines, "lines", "n", 10, "show the last N lines of the service's output")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output lines")
	return cmd
}

// printLog prints transitions, or output lines; those of every service
// (merged) each after its service's name.
func printLog(f *cmdutil.Factory, res wire.LogResult, output, merged bool) {
	for _, e := range res.Entries {
		switch {
		case output && merged:
			fmt.Fprintf(f.Out, "%s: %s\n", e.Service, e.Text)
			continue
		case output:
			fmt.Fprintln(f.Out, e.Text)
			continue
		}
		fmt.Fprintf(f.Out, "%s\tservice %s %s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Service, e.Text)
	}
}

// followLog prints the service's output, or every service's, as it
// comes; with --json a JSON line per output line (a wire.LogEntry
// document).
func followLog(f *cmdutil.Factory, req wire.Request) error {
	return f.Stream(req, req.Service, func(raw json.RawMessage, _ bool) error {
		var res wire.LogResult
		if err := json.Unmarshal(raw, &res); err != nil {
			return err
		}
		if f.JSON {
			for _, e := range res.Entries {
				if err := f.PrintDoc(e); err != nil {
					return err
				}
			}
			return nil
		}
		printLog(f, res, true, req.Service == "")
		return nil
	})
}
