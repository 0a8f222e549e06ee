package factscmd

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// NewCmdFacts is herd facts [NAME].
func NewCmdFacts(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "facts [NAME]",
		Short: "The latest facts the daemon's monitors recorded (NAME: memory, memory.total, package:nginx, ...)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out wire.Facts
			if done, err := f.Call(wire.Request{Action: "facts", Args: args}, "", &out); done || err != nil {
				return err
			}
			if len(out.Facts) == 0 {
				if len(args) == 1 {
					fmt.Fprintf(f.Out, "No fact named %s (herd monitors shows what the monitors sample).\n", args[0])
				} else {
					fmt.Fprintln(f.Out, "No facts yet: add monitors to the configuration (docs/monitors.md).")
				}
				return nil
			}
			tw := tabwriter.NewWriter(f.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "HOST\tSUBJECT\tNAME\tVALUE\tTIME")
			for _, x := range out.Facts {
				host := x.Host
				if host == "" {
					host = "-"
				}
				v := fmt.Sprint(x.Value)
				if n, ok := x.Value.(float64); ok {
					v = strconv.FormatFloat(n, 'f', -1, 64)
				}
				if x.Unit != "" {
					v += " " + x.Unit
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", host, x.Subject, x.Name, v, x.Time.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
}

// NewCmdMonitors is herd monitors.
func NewCmdMonitors(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "monitors",
		Short: "Each monitor's last run: when, how long, how many facts, what went wrong",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out wire.Monitors
			if done, err := f.Call(wire.Request{Action: "monitors"}, "", &out); done || err != nil {
				return err
			}
			if len(out.Monitors) == 0 {
				fmt.Fprintln(f.Out, "No monitors: add a monitors list to the configuration (docs/monitors.md).")
				return nil
			}
			tw := tabwriter.NewWriter(f.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MONITOR\tKIND\tEVERY\tRUNS\tFAILED\tLAST\tTOOK\tFACTS\tSTATUS")
			for _, m := range out.Monitors {
				last := "never"
				if !m.Last.IsZero() {
					last = m.Last.Local().Format(time.TimeOnly)
				}
				status := "ok"
				if m.Error != "" {
					status = m.Error
				} else if len(m.Problems) > 0 {
					status = fmt.Sprintf("%d bad lines: %s", len(m.Problems), m.Problems[0])
				}
				if len(m.Alerts) > 0 {
					status += "; ALERT " + strings.Join(m.Alerts, ", ")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%d\t%s\n", m.Name, m.Kind, m.Interval, m.Runs, m.Failures, last,
					m.Took.Round(time.Millisecond), m.Facts, status)
			}
			return tw.Flush()
		},
	}
}

// NewCmdQuery is herd query SQL.
func NewCmdQuery(f *cmdutil.Factory) *cobra.Command {
	limit := 0
	cmd := &cobra.Command{
		Use:   "query SQL",
		Short: "Ask the history a question in SQL: hosts, services, events, facts, packages, disks (docs/query.md)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := wire.Request{Action: "query", Args: []string{args[0]}}
			if limit > 0 {
				req.Args = append(req.Args, strconv.Itoa(limit))
			}
			var out wire.QueryResult
			if done, err := f.Call(req, "", &out); done || err != nil {
				return err
			}
			tw := tabwriter.NewWriter(f.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, strings.ToUpper(strings.Join(out.Columns, "\t")))
			for _, row := range out.Rows {
				cells := make([]string, len(row))
				for i, v := range row {
					switch x := v.(type) {
					case nil:
						cells[i] = "-"
					case float64:
						cells[i] = strconv.FormatFloat(x, 'f', -1, 64)
					default:
						cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(fmt.Sprint(x))
					}
				}
				fmt.Fprintln(tw, strings.Join(cells, "\t"))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(out.Rows) == 0 {
				fmt.Fprintln(f.Err, "(no rows)")
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "the most rows to return (default 1000, at most 100000)")
	return cmd
}

// NewCmdCollect is herd collect: how a collector's pulls go.
func NewCmdCollect(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "collect",
		Short: "How the pulls of each host of the collect: list go: cursor, lag, counts, last pull, last error",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var out wire.CollectStatus
			if done, err := f.Call(wire.Request{Action: "collect-status"}, "", &out); done || err != nil {
				return err
			}
			printCollect(f.Out, out, time.Now())
			return nil
		},
	}
}

func printCollect(w io.Writer, out wire.CollectStatus, now time.Time) {
	if !out.Configured {
		fmt.Fprintln(w, "No collection is configured: this daemon pulls no host (add a collect: list to the configuration; see docs/query.md#collecting-a-fleet).")
		return
	}
	when := func(t time.Time) string {
		switch {
		case t.IsZero():
			return "never"
		case t.Local().YearDay() == now.Local().YearDay() && t.Year() == now.Year():
			return t.Local().Format(time.TimeOnly)
		}
		return t.Local().Format(time.DateTime)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tEVERY\tCURSOR\tBEHIND\tEVENTS\tFACTS\tLAST-PULL\tLAST-SUCCESS\tSTATUS")
	for _, h := range out.Hosts {
		behind := "-"
		if h.Behind != nil {
			behind = strconv.FormatUint(*h.Behind, 10)
		}
		status := "ok"
		switch {
		case h.Failures > 0:
			status = fmt.Sprintf("failing (%d in a row): %s", h.Failures, h.Error)
		case h.Pulling:
			status = "pulling"
		case h.Rounds == 0:
			status = "not pulled yet"
		}
		status = strings.NewReplacer("\t", " ", "\n", " ").Replace(status)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\n", h.Host, h.Interval, h.Seq, behind, h.Events, h.Facts, when(h.LastPull), when(h.LastSuccess), status)
	}
	tw.Flush()
}
