package jobscmd

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/jobs"
	"github.com/spf13/cobra"
)

// NewCmdJobs is `herd jobs [--json]` and `herd jobs show NAME [--json]`.
func NewCmdJobs(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs [show NAME]",
		Short: "List the tracked jobs (herd run) with their last run and state; show one job's runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var l jobs.List
			if done, err := f.Call(wire.Request{Action: jobs.ActionList}, "", &l); done || err != nil {
				return err
			}
			printList(f, l)
			return nil
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Show a tracked job's kept runs, with the last lines of their output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d jobs.Detail
			if done, err := f.Call(wire.Request{Action: jobs.ActionShow, Args: args}, "", &d); done || err != nil {
				return err
			}
			printDetail(f, d)
			return nil
		},
	})
	return cmd
}

const stamp = "2006-01-02 15:04:05"

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(stamp)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func duration(j jobs.Job) string {
	if j.Last.IsZero() {
		return "-"
	}
	return j.Duration.Round(time.Millisecond).String()
}

func printList(f *cmdutil.Factory, l jobs.List) {
	if len(l.Jobs) == 0 {
		fmt.Fprintln(f.Out, "No jobs: herd run --name NAME -- CMD reports one.")
		return
	}
	w := tabwriter.NewWriter(f.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tLAST\tRESULT\tDURATION\tNEXT-EXPECTED\tSTATE")
	for _, j := range l.Jobs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, when(j.Last), dash(j.Result), duration(j), when(j.NextExpected), j.State)
	}
	w.Flush()
}

func printDetail(f *cmdutil.Factory, d jobs.Detail) {
	j := d.Job
	fmt.Fprintf(f.Out, "Job %s: %s, %d runs kept.\n", j.Name, j.State, len(d.Runs))
	if j.Every > 0 {
		fmt.Fprintf(f.Out, "  Expected every %s (grace %s), next by %s.\n", j.Every, j.Grace, when(j.NextExpected))
	}
	for _, r := range d.Runs {
		fmt.Fprintf(f.Out, "\nRun %d, started %s: %s\n", r.ID, when(r.Started), runResult(r))
		if len(r.Command) > 0 {
			fmt.Fprintf(f.Out, "  Command: %s\n", strings.Join(r.Command, " "))
		}
		if r.Reporter != "" {
			fmt.Fprintf(f.Out, "  Reported by %s\n", r.Reporter)
		}
		for _, line := range r.Output {
			fmt.Fprintf(f.Out, "  | %s\n", line)
		}
	}
}

func runResult(r jobs.Run) string {
	d := r.Duration.Round(time.Millisecond)
	switch {
	case r.Result == jobs.ResultRunning:
		return "running"
	case r.Result == jobs.ResultLost:
		return "lost (its end was never reported)"
	case r.Error != "":
		return "failed: did not run: " + r.Error
	case r.TimedOut:
		return fmt.Sprintf("failed: timed out after %s and was killed", d)
	case r.Signal != "":
		return fmt.Sprintf("failed: terminated by signal %s after %s", r.Signal, d)
	case r.ExitCode != nil && *r.ExitCode != 0:
		return fmt.Sprintf("failed: exited with code %d after %s", *r.ExitCode, d)
	}
	return fmt.Sprintf("ok after %s", d)
}
