package fleetcmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// WatchRound is one line of `herd fleet watch --json`: a round.
type WatchRound struct {
	Round int `json:"round"`
	// Run is the number the local daemon recorded the round under; 0
	// when it could not (RecordError says why).
	Run         int                `json:"run"`
	RecordError string             `json:"record_error,omitempty"`
	Time        time.Time          `json:"time"`
	Command     []string           `json:"command"`
	Selector    string             `json:"selector"`
	Results     []fleet.Result     `json:"results"`
	Groups      []fleet.WatchGroup `json:"groups"`
	// Changed are the hosts whose answer differs from the round before
	// (none in the first round).
	Changed []string `json:"changed"`
	Summary string   `json:"summary"`
}

func newCmdFleetWatch(f *cmdutil.Factory) *cobra.Command {
	var o fleetOptions
	var so sshOptions
	var interval time.Duration
	var changesOnly bool
	var count int
	c := &cobra.Command{
		Use:   "watch [-g GROUP] [-t TAG] [-H HOSTS] [--interval 10s] [--changes-only] [--count N] -- CMD [ARG...]",
		Short: "Run a command on the selected hosts every interval; mark the hosts whose answer changed",
		Long: `Run a command on the selected hosts every --interval (at least 1s), print
each round grouped under a timestamp header, and mark [changed] the hosts
whose output, exit or error differs from the round before. Every round is
kept in the fleet-run history (herd fleet history). Ctrl-C ends the watch
(exit 0); so does the end of --count rounds.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if err := fleet.CheckWatchInterval(interval); err != nil {
				return cmdutil.UsageError("fleet watch: " + err.Error())
			}
			if count < 0 {
				return cmdutil.UsageError("fleet watch: --count is a number of rounds (0: until Ctrl-C)")
			}
			hosts, err := selectHosts(f, &o)
			if err != nil {
				return err
			}
			execOn, closeConns, err := so.transport(f, hosts)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			var prev []fleet.Result
			warned := false
			for round := 1; count == 0 || round <= count; round++ {
				start := time.Now()
				results := runOn(ctx, f.Socket, hosts, func(*fleet.Host) []string { return argv }, so.fanoutFor(hosts), so.timeout, execOn)
				// Connections are not kept between rounds: a host
				// that restarted is dialled again.
				closeConns()
				if ctx.Err() != nil {
					return nil // Ctrl-C: the round was cut short
				}
				changed := map[string]bool{}
				if prev != nil {
					changed = fleet.ChangedHosts(prev, results)
				}
				prev = results
				summary := fleet.Summary(results)
				doc := WatchRound{Round: round, Time: start.UTC(), Command: argv, Selector: o.sel.String(), Results: results,
					Groups: fleet.GroupRound(results, changed), Changed: []string{}, Summary: summary}
				for _, r := range results {
					if changed[r.Host] {
						doc.Changed = append(doc.Changed, r.Host)
					}
				}
				// Marked as a watch's, with its changes: the daemon's
				// notifications can alert on them (fleet-changed).
				id, recErr := recordRun(f, wire.FleetRun{Time: start, Command: argv, Selector: o.sel.String(), Summary: summary, Results: toWire(results),
					Watch: true, Changed: doc.Changed})
				doc.Run = id
				if recErr != nil {
					doc.RecordError = recErr.Error()
				}
				if !changesOnly || round == 1 || len(doc.Changed) > 0 {
					if f.JSON {
						if err := f.PrintDoc(doc); err != nil {
							return f.Fail(err.Error())
						}
					} else {
						printRound(f, doc, changesOnly && round > 1)
					}
				}
				if recErr != nil && !f.JSON && !warned {
					fmt.Fprintf(f.Err, "herd: warning: the rounds are not recorded: %v\n", recErr)
					warned = true
				}
				if count != 0 && round == count {
					break
				}
				timer := time.NewTimer(time.Until(fleet.NextRound(start, time.Now(), interval)))
				select {
				case <-timer.C:
				case <-ctx.Done():
					timer.Stop()
					return nil
				}
			}
			return nil
		},
	}
	o.flags(c)
	so.flags(c)
	c.Flags().DurationVar(&interval, "interval", 10*time.Second, "time from the start of one round to the next (at least 1s)")
	c.Flags().BoolVar(&changesOnly, "changes-only", false, "after the first round, print only the hosts whose answer changed")
	c.Flags().IntVar(&count, "count", 0, "stop after N rounds (0: until Ctrl-C)")
	return c
}

// printRound prints a round: a timestamp header, its groups ([changed]
// marked; with onlyChanged, only those) and its summary.
func printRound(f *cmdutil.Factory, r WatchRound, onlyChanged bool) {
	head := fmt.Sprintf("=== %s  round %d", r.Time.Local().Format("2006-01-02 15:04:05"), r.Round)
	if r.Run > 0 {
		head += fmt.Sprintf(" (run %d)", r.Run)
	}
	if len(r.Changed) > 0 {
		head += fmt.Sprintf(": %d changed", len(r.Changed))
	}
	fmt.Fprintln(f.Out, head+" ===")
	const rule = "---------------"
	for _, g := range r.Groups {
		if onlyChanged && !g.Changed {
			continue
		}
		h := fmt.Sprintf("%s (%d)", fleet.Fold(g.Hosts), len(g.Hosts))
		switch {
		case g.Err != "":
			h += "  " + g.Err
		case g.ExitCode != 0:
			h += fmt.Sprintf("  exit %d", g.ExitCode)
		}
		if g.Changed {
			h += "  [changed]"
		}
		fmt.Fprintf(f.Out, "%s\n%s\n%s\n", rule, h, rule)
		if g.Output != "" {
			fmt.Fprint(f.Out, g.Output)
			if !strings.HasSuffix(g.Output, "\n") {
				fmt.Fprintln(f.Out)
			}
		}
	}
	fmt.Fprintln(f.Out, r.Summary)
}
