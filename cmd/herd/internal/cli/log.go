package cli

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdLog(f *Factory) *cobra.Command {
	var lines int
	var follow bool
	cmd := &cobra.Command{
		Use:   "log [SERVICE [-n N] [-f]]",
		Short: "Show state transitions, or a service's own output with -n/-f",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := wire.Request{Action: "log"}
			output := cmd.Flags().Changed("lines") || follow
			if len(args) == 1 {
				req.Service = args[0]
				if output {
					req.Args = []string{"-n", strconv.Itoa(lines)}
				}
			} else if output {
				return usageError("log: -n and -f need a service")
			}
			if follow {
				req.Args = append(req.Args, "-f")
				return f.followLog(req)
			}
			var res wire.LogResult
			if done, err := f.call(req, req.Service, &res); done || err != nil {
				return err
			}
			f.printLog(res, output)
			return nil
		},
	}
	cmd.Flags().IntVarP(&lines, "lines", "n", 10, "show the last N lines of the service's output")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output lines")
	return cmd
}

func (f *Factory) printLog(res wire.LogResult, output bool) {
	for _, e := range res.Entries {
		if output {
			fmt.Fprintln(f.Out, e.Text)
			continue
		}
		fmt.Fprintf(f.Out, "%s\tservice %s %s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Service, e.Text)
	}
}

// followLog prints the service's output as it comes.
func (f *Factory) followLog(req wire.Request) error {
	return f.stream(req, req.Service, func(raw json.RawMessage, _ bool) error {
		var res wire.LogResult
		if err := json.Unmarshal(raw, &res); err != nil {
			return err
		}
		f.printLog(res, true)
		return nil
	})
}
