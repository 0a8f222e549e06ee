package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

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
			rep, err := f.request(req)
			if err != nil {
				return err
			}
			if !rep.OK {
				return f.replyError(rep.Error, req.Service)
			}
			var res wire.LogResult
			if printed, err := f.decode(rep, &res); printed || err != nil {
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

// followLog prints the stream until the daemon ends it or the user
// interrupts (which is a normal end: exit 0).
func (f *Factory) followLog(req wire.Request) error {
	req.Cap = f.Cap
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := f.Connect(ctx, f.Socket)
	if err != nil {
		return f.fail(err.Error())
	}
	defer c.Close()
	var replyErr *wire.Error
	err = c.Stream(ctx, req, func(rep wire.Reply) error {
		if !rep.OK {
			replyErr = rep.Error
			return nil
		}
		if f.JSON {
			f.printJSON(rep.Result)
			return nil
		}
		var res wire.LogResult
		if err := json.Unmarshal(rep.Result, &res); err != nil {
			return err
		}
		f.printLog(res, true)
		return nil
	})
	if replyErr != nil {
		return f.replyError(replyErr, req.Service)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return f.fail(err.Error())
	}
	return nil
}
