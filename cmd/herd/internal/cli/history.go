package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdHistory(f *cmdutil.Factory) *cobra.Command {
	var since string
	var limit int
	cmd := &cobra.Command{
		Use:   "history SERVICE [--since D] [--limit N]",
		Short: "Show what happened to a service: starts, exits, respawns, actions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := wire.Request{Action: "history", Service: args[0], Args: historyArgs(since, limit, "")}
			var evs wire.Events
			if done, err := f.Call(req, args[0], &evs); done || err != nil {
				return err
			}
			fmt.Fprint(f.Out, FormatEvents(evs.Events, false, true))
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "only events since a duration ago (90m, 2h, 3d) or a time")
	cmd.Flags().IntVar(&limit, "limit", 0, "only the last N events")
	return cmd
}

func newCmdEvents(f *cmdutil.Factory) *cobra.Command {
	var since, service string
	var follow bool
	var limit int
	var after uint64
	cmd := &cobra.Command{
		Use:   "events [--since D] [--service S] [--limit N] [--after SEQ] [--follow]",
		Short: "Show the events of every service, live with --follow",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			req := wire.Request{Action: "events", Args: historyArgs(since, limit, service)}
			if after > 0 {
				req.Args = append(req.Args, "--after", strconv.FormatUint(after, 10))
			}
			if !follow {
				var evs wire.Events
				if done, err := f.Call(req, service, &evs); done || err != nil {
					return err
				}
				fmt.Fprint(f.Out, FormatEvents(evs.Events, true, true))
				return nil
			}
			req.Args = append(req.Args, "-f")
			return f.Stream(req, service, func(raw json.RawMessage, first bool) error {
				var evs wire.Events
				if err := json.Unmarshal(raw, &evs); err != nil {
					return err
				}
				if f.JSON {
					// A JSON line per event (a wire.Event document).
					for _, e := range evs.Events {
						if err := f.PrintDoc(e); err != nil {
							return err
						}
					}
					return nil
				}
				fmt.Fprint(f.Out, FormatEvents(evs.Events, true, first))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "only events since a duration ago (90m, 2h, 3d) or a time")
	cmd.Flags().StringVar(&service, "service", "", "only the events of this service")
	cmd.Flags().IntVar(&limit, "limit", 0, "only the last N events (with --after: the first N after SEQ)")
	cmd.Flags().Uint64Var(&after, "after", 0, "only the events numbered after SEQ (to page or resume a listing)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing events as they happen")
	return cmd
}

func historyArgs(since string, limit int, service string) []string {
	var args []string
	if since != "" {
		args = append(args, "--since", since)
	}
	if limit > 0 {
		args = append(args, "--limit", strconv.Itoa(limit))
	}
	if service != "" {
		args = append(args, "--service", service)
	}
	return args
}

// FormatEvents renders events as a table; all adds the sequence and
// service columns of `herd events`.
func FormatEvents(evs []wire.Event, all, header bool) string {
	var b strings.Builder
	row := func(cols ...string) {
		line := fmt.Sprintf("%-19s  ", cols[0])
		if all {
			line += fmt.Sprintf("%-6s  %-16s  ", cols[1], cols[2])
		}
		line += fmt.Sprintf("%-16s  %-7s  %-10s  %-9s  %-8s  %s", cols[3], cols[4], cols[5], cols[6], cols[7], cols[8])
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	if header {
		row("TIME", "SEQ", "SERVICE", "EVENT", "PID", "EXIT", "RUNTIME", "WHO", "DETAIL")
	}
	for _, e := range evs {
		event := e.Kind
		switch e.Kind {
		case "state":
			event = e.State
		case "action", "hook":
			event = e.Kind + " " + e.Action
		case "capability":
			event = "cap " + e.Action
		case "proxy":
			event = "proxy " + e.State
		}
		pid, exit, runtime := "", "", ""
		if e.PID > 0 {
			pid = strconv.Itoa(e.PID)
		}
		if e.ExitCode != nil {
			exit = "code " + strconv.Itoa(*e.ExitCode)
		} else if e.Signal != "" {
			exit = e.Signal
		}
		if e.Runtime > 0 {
			runtime = e.Runtime.Round(time.Millisecond).String()
		}
		detail := e.Result
		if e.Message != "" {
			detail = strings.TrimSpace(detail + " " + e.Message)
		}
		row(e.Time.Local().Format("2006-01-02 15:04:05"), "#"+strconv.FormatUint(e.Seq, 10), e.Service, event, pid, exit, runtime, e.Who, detail)
	}
	return b.String()
}
