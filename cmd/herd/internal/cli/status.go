package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdStatus(f *cmdutil.Factory) *cobra.Command {
	var lines int
	cmd := &cobra.Command{
		Use:   "status [SERVICE]",
		Short: "Show all services, or one in detail",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := wire.Request{Action: "status"}
			if len(args) == 1 {
				req.Service = args[0]
				if cmd.Flags().Changed("lines") {
					req.Args = []string{"-n", strconv.Itoa(lines)}
				}
			}
			rep, err := f.Request(req)
			if err != nil {
				return err
			}
			if !rep.OK {
				return f.ReplyError(rep.Error, req.Service)
			}
			if req.Service == "" {
				var all wire.StatusAll
				if printed, err := f.Decode(rep, &all); printed || err != nil {
					return err
				}
				fmt.Fprint(f.Out, FormatSummary(all.Services))
				return nil
			}
			var st wire.Status
			if printed, err := f.Decode(rep, &st); printed || err != nil {
				return err
			}
			fmt.Fprint(f.Out, FormatStatus(st, f.Now()))
			return nil
		},
	}
	cmd.Flags().IntVarP(&lines, "lines", "n", 10, "number of recent output lines to show")
	return cmd
}

// summaryGroups are the groups of `herd status`, in order (herd-cli.md).
var summaryGroups = []struct {
	title, bullet string
	member        func(wire.Summary) bool
}{
	{"Started:", "+", func(s wire.Summary) bool { return s.State == wire.StateRunning }},
	{"Starting:", "^", func(s wire.Summary) bool { return s.State == wire.StateStarting }},
	{"Stopped:", "-", func(s wire.Summary) bool { return s.State == wire.StateStopped && !s.Done }},
	{"Stopping:", "v", func(s wire.Summary) bool { return s.State == wire.StateStopping }},
	{"One-shot:", "*", func(s wire.Summary) bool { return s.State == wire.StateStopped && s.Done }},
	{"Failed to start:", "!", func(s wire.Summary) bool { return s.State == wire.StateFailed }},
}

// FormatSummary renders `herd status`. Services arrive sorted by name.
func FormatSummary(all []wire.Summary) string {
	var b strings.Builder
	placed := make([]bool, len(all))
	for _, g := range summaryGroups {
		title := false
		for i, s := range all {
			if !g.member(s) {
				continue
			}
			if !title {
				b.WriteString(g.title + "\n")
				title = true
			}
			placed[i] = true
			if s.Transient {
				fmt.Fprintf(&b, " %s %s (transient)\n", g.bullet, s.Name)
				continue
			}
			fmt.Fprintf(&b, " %s %s\n", g.bullet, s.Name)
		}
	}
	// States this herd does not know yet get a group of their own.
	other := map[string][]string{}
	var order []string
	for i, s := range all {
		if !placed[i] {
			if _, ok := other[s.State]; !ok {
				order = append(order, s.State)
			}
			other[s.State] = append(other[s.State], s.Name)
		}
	}
	for _, st := range order {
		b.WriteString(strings.ToUpper(st[:1]) + st[1:] + ":\n")
		for _, n := range other[st] {
			fmt.Fprintf(&b, " ? %s\n", n)
		}
	}
	return b.String()
}

// FormatStatus renders `herd status NAME` (GNU Shepherd 1.0's layout).
func FormatStatus(s wire.Status, now time.Time) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, "  "+format+"\n", args...) }
	fmt.Fprintf(&b, "● Status of %s:\n", s.Name)
	switch {
	case s.State == wire.StateRunning:
		line("It is running since %s (%s).", clock(s.Since, now), ago(s.Since, now))
	case s.State == wire.StateStarting:
		line("It is starting.")
	case s.State == wire.StateStopping:
		line("It is being stopped.")
	case s.State == wire.StateFailed || s.Failing:
		line("It is stopped (failing).")
		line("Failed to start at %s.", clock(s.FailedAt, now))
		if s.FailReason != "" {
			line("Reason: %s", s.FailReason)
		}
	case s.OneShot && s.Done:
		line("It is stopped (one-shot).")
	case s.State == wire.StateStopped:
		line("It is stopped since %s.", clock(s.Since, now))
	default:
		line("It is %s since %s.", s.State, clock(s.Since, now))
	}
	if s.State == wire.StateStarting && s.Ready != "" {
		line("Waiting until it is ready (%s).", s.Ready)
	}
	if s.StatusText != "" {
		line("Status: %s", s.StatusText)
	}
	if s.Reloading {
		line("It is reloading (RELOADING=1).")
	}
	if s.SelfStopping {
		line("It said it is stopping (STOPPING=1).")
	}
	if s.PID > 0 {
		line("Main PID: %d", s.PID)
	}
	if !s.Adopted.IsZero() {
		line("Adopted at %s from a shepherd that ended without stopping it: its output is not captured until its next start.", clock(s.Adopted, now))
	}
	if len(s.Instances) > 0 {
		line("Instances: %s", formatInstances(s.Instances))
	}
	if s.DeclaredInstances > 0 {
		line("Scaled to %s with herd scale (its file says %d); kept across restarts until the file says another number.", plural(len(s.Instances), "instance"), s.DeclaredInstances)
	}
	if len(s.Members) > 0 {
		var parts []string
		for _, m := range s.Members {
			parts = append(parts, m.Name+" "+m.State)
		}
		line("Members: %s", strings.Join(parts, ", "))
	}
	if len(s.Command) > 0 {
		line("Command: %s", strings.Join(s.Command, " "))
	}
	if s.Transient {
		line("It is transient (herd spawn): it is removed once it stops; herd history %s keeps what it did.", s.Name)
	}
	formatCgroup(line, s.Cgroup)
	formatEnabled(line, s, now)
	formatActivation(line, s.Activation)
	if s.Remote != "" {
		line("Remote: %s", s.Remote)
		if s.RemoteError != "" {
			line("Remote error: %s", s.RemoteError)
		}
	}
	if s.ReplacementPending {
		line("Replacement pending (restart to upgrade).")
	}
	line("Provides: %s", strings.Join(append([]string{s.Name}, s.Provides...), " "))
	if len(s.Requires) > 0 {
		line("Requires: %s", strings.Join(s.Requires, " "))
	}
	if len(s.Actions) > 0 {
		line("Custom actions: %s", strings.Join(s.Actions, " "))
	}
	switch {
	case s.Respawn && s.Enabled:
		line("Will be respawned.")
	case s.Respawn:
		line("Will not be respawned while it is disabled.")
	default:
		line("Will not be respawned.")
	}
	if !s.LastRespawn.IsZero() {
		line("Last respawned on %s (%s).", clock(s.LastRespawn, now), ago(s.LastRespawn, now))
	}
	if e := s.LastExit; e != nil {
		how := fmt.Sprintf("exited with code %d", e.Code)
		switch {
		case e.Unknown:
			how = "ended (its exit status went to its parent, not to shepherd)"
		case e.Signal != "":
			how = "terminated with signal " + e.Signal
		}
		if e.Success && (e.Code != 0 || e.Signal != "") {
			how += " (a success status)" // one of its exit-codes
		}
		if s.State != wire.StateRunning {
			line("Process %s.", how)
		} else {
			line("Previous process %s.", how)
		}
		if e.Runtime > 0 {
			line("It ran for %s.", time.Duration(e.Runtime).Round(time.Millisecond))
		}
	}
	if s.StopIssue != "" {
		line("The last stop ended without the process: %s.", s.StopIssue)
	}
	if s.RespawnsLastHour > 0 {
		line("Respawned %s in the last hour.", plural(s.RespawnsLastHour, "time"))
	}
	if s.FlappingCount > 0 {
		line("Flapping: restarted %s in the last %s.", plural(s.FlappingCount, "time"), plural(s.FlappingMinutes, "minute"))
	}
	if d := s.Daemon; d != nil {
		line("Version: %s", d.Version)
		if d.ConfigPath != "" {
			line("Configuration: %s", d.ConfigPath)
		}
		line("Socket: %s", d.Socket)
		line("State directory: %s", d.StateDir)
		states := make([]string, 0, len(d.ByState))
		for _, st := range []string{wire.StateRunning, wire.StateStarting, wire.StateStopped, wire.StateStopping, wire.StateFailed} {
			if n := d.ByState[st]; n > 0 {
				states = append(states, fmt.Sprintf("%d %s", n, st))
			}
		}
		if len(states) == 0 {
			states = []string{"none"}
		}
		line("Services: %s", strings.Join(states, ", "))
		line("Orphans reaped: %d", d.OrphansReaped)
		if d.Cgroups != "" {
			line("Cgroups: %s", d.Cgroups)
		}
		if d.PeerID != "" {
			line("Peer ID: %s", d.PeerID)
		}
		for _, a := range d.Listen {
			line("Listening on: %s", a)
		}
		if d.Reexecs > 0 {
			line("Re-executed %s, first started at %s.", plural(d.Reexecs, "time"), clock(d.StartedAt, now))
		}
		if h := d.History; h.Degraded {
			line("History: degraded since %s: %s", clock(h.Since, now), h.Reason)
			line("History: %d events held in memory, %d dropped; replies do not wait for the history.", h.Held, h.Dropped)
		}
	}
	if s.NotifyRefused > 0 || s.NotifyMalformed > 0 {
		line("Notify socket: %d datagrams refused (not from its processes), %d malformed.", s.NotifyRefused, s.NotifyMalformed)
	}
	if s.LogError != "" {
		line("Its output is kept in memory only: %s.", s.LogError)
	}
	if len(s.Recent) > 0 {
		b.WriteString("\n  Recent messages (use '-n' to view more or less):\n")
		for _, l := range s.Recent {
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String()
}

// clock prints T as HH:MM:SS when it is today, else with its date.
func clock(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

// ago prints how long ago T was, in the largest sensible unit.
func ago(t, now time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	unit := func(n int, name string) string {
		if n == 1 {
			return "1 " + name + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, name)
	}
	switch {
	case d < time.Minute:
		return unit(int(d.Seconds()), "second")
	case d < 2*time.Hour:
		return unit(int(d.Minutes()), "minute")
	case d < 48*time.Hour:
		return unit(int(d.Hours()), "hour")
	}
	return unit(int(d.Hours()/24), "day")
}

// formatInstances says "3 running (PIDs 11 12 13)", then the others.
func formatInstances(is []wire.Instance) string {
	var pids []string
	others := map[string]int{}
	var order []string
	for _, i := range is {
		if i.State == wire.StateRunning {
			pids = append(pids, strconv.Itoa(i.PID))
			continue
		}
		if others[i.State] == 0 {
			order = append(order, i.State)
		}
		others[i.State]++
	}
	var parts []string
	if len(pids) > 0 {
		parts = append(parts, fmt.Sprintf("%d running (PIDs %s)", len(pids), strings.Join(pids, " ")))
	}
	for _, st := range order {
		parts = append(parts, fmt.Sprintf("%d %s", others[st], st))
	}
	return strings.Join(parts, ", ")
}

// formatEnabled says whether the service may run; when it may not, since
// when, why, and what to do: that holds across restarts of shepherd.
func formatEnabled(line func(string, ...any), s wire.Status, now time.Time) {
	d := s.Disabled
	switch {
	case s.Enabled:
		line("It is enabled.")
	case d == nil:
		line("It is disabled.")
	case d.By == wire.DisabledByRespawnLimit:
		line("It is disabled (since %s): %s.", clock(d.Since, now), d.Reason)
	default:
		by := "herd disable"
		if d.Who != "" {
			by += ", " + d.Who
		}
		line("It is disabled (since %s, by %s).", clock(d.Since, now), by)
	}
	if d != nil && len(s.Instances) == 0 {
		line("It stays disabled across restarts of shepherd, until `herd enable %s`.", s.Name)
	}
}
