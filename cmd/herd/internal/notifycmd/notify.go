package notifycmd

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/alerting"
	"github.com/spf13/cobra"
)

// NewCmdNotify and NewCmdIncidents are herd notify test and herd
// incidents (docs/notifications.md).

func NewCmdNotify(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Notifications: send a test alert to a target",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "test TARGET",
		Short: "Send a test alert to a target of the configuration's notify: section, and say whether it arrived",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res alerting.TestResult
			if done, err := f.Call(wire.Request{Action: "notify-test", Args: args}, "", &res); done || err != nil {
				return err
			}
			f.Say("Test notification delivered to %s (key %s).", res.Target, res.Key)
			return nil
		},
	})
	return cmd
}

func NewCmdIncidents(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "incidents",
		Short: "Open and recent incidents, and which targets were told",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var l alerting.Listing
			if done, err := f.Call(wire.Request{Action: "incidents"}, "", &l); done || err != nil {
				return err
			}
			printIncidents(f.Out, l)
			return nil
		},
	}
}

func printIncidents(w io.Writer, l alerting.Listing) {
	if !l.Configured {
		fmt.Fprintln(w, "No notifications are configured (add a notify: section to the configuration; see docs/notifications.md).")
		return
	}
	if len(l.Open)+len(l.Recent) == 0 {
		fmt.Fprintln(w, "No incidents.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INCIDENT\tSTATE\tSUBJECT\tALERTS\tFAILURES\tOPENED\tCLOSED\tTOLD")
	row := func(inc alerting.Incident) {
		state, closed := "open", "-"
		if !inc.Closed.IsZero() {
			state, closed = "closed", inc.Closed.Local().Format(time.DateTime)
		}
		classes := make([]string, len(inc.Classes))
		for i, c := range inc.Classes {
			classes[i] = string(c)
		}
		told := make([]string, 0, len(inc.Notified))
		for t := range inc.Notified {
			told = append(told, t)
		}
		slices.Sort(told)
		for _, t := range inc.Suppressed {
			told = append(told, t+" (cooldown)")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", inc.ID, state, inc.Subject, strings.Join(classes, ","), inc.Failures,
			inc.Opened.Local().Format(time.DateTime), closed, cmp(strings.Join(told, ", "), "-"))
	}
	for _, inc := range l.Open {
		row(inc)
	}
	for _, inc := range l.Recent {
		row(inc)
	}
	tw.Flush()
}

func cmp(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}
