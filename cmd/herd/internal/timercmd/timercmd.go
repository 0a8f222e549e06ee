package timercmd

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// NewCmdTimers builds `herd timers`.
func NewCmdTimers(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "timers",
		Short: "List timer services and scheduled jobs: next and last run, result, duration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var res wire.TimersResult
			if done, err := f.Call(wire.Request{Action: "timers"}, "", &res); done || err != nil {
				return err
			}
			return PrintTimers(f, res)
		},
	}
}

// PrintTimers prints the timers as `systemctl list-timers` does: NEXT,
// LEFT, LAST, PASSED, RESULT, DURATION, SERVICE, and how many.
func PrintTimers(f *cmdutil.Factory, res wire.TimersResult) error {
	if len(res.Timers) == 0 {
		fmt.Fprintln(f.Out, "No timers.")
		return nil
	}
	tw := tabwriter.NewWriter(f.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NEXT\tLEFT\tLAST\tPASSED\tRESULT\tDURATION\tSERVICE")
	for _, t := range res.Timers {
		next, left, last, passed, result, dur := "-", "-", "-", "-", "-", "-"
		if !t.Next.IsZero() {
			next, left = stamp(t.Next), Span(t.Next.Sub(res.Now))+" left"
		}
		if !t.Last.IsZero() {
			last, passed = stamp(t.Last), Span(res.Now.Sub(t.Last))+" ago"
		}
		if t.Result != "" {
			result = t.Result
		}
		if t.DurationMS > 0 && !t.Running {
			dur = Span(time.Duration(t.DurationMS) * time.Millisecond)
		}
		service := t.Service
		if t.OneTime {
			service += " (once: " + strings.Join(t.Command, " ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", next, left, last, passed, result, dur, service)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	n := len(res.Timers)
	fmt.Fprintf(f.Out, "\n%d timer%s listed.\n", n, map[bool]string{true: "", false: "s"}[n == 1])
	return nil
}

func stamp(t time.Time) string { return t.Local().Format("Mon 2006-01-02 15:04:05") }

// Span is a duration as systemctl prints one: the two largest units,
// "3 days 2h", "23min 5s", "4s", "120ms".
func Span(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, " days"}, {time.Hour, "h"}, {time.Minute, "min"}, {time.Second, "s"}}
	say := func(n time.Duration, name string) string {
		if n == 1 && name == " days" {
			name = " day"
		}
		return strconv.FormatInt(int64(n), 10) + name
	}
	for i, u := range units {
		if d < u.d {
			continue
		}
		out := say(d/u.d, u.name)
		if i+1 < len(units) {
			if m := d % u.d / units[i+1].d; m > 0 {
				out += " " + say(m, units[i+1].name)
			}
		}
		return out
	}
	return ""
}

// NewCmdTrigger builds `herd trigger NAME`.
func NewCmdTrigger(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "trigger NAME",
		Short: "Run a timer service now, as its timer would (its overlap applies)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res wire.TriggerResult
			if done, err := f.Call(wire.Request{Action: "trigger", Args: args}, args[0], &res); done || err != nil {
				return err
			}
			switch res.Action {
			case "start":
				f.Say("Triggered timer service %s.", res.Service)
			case "skip":
				f.Say("Timer service %s still runs: skipped (overlap: skip).", res.Service)
			case "queue":
				f.Say("Timer service %s still runs: queued to run after it (overlap: queue).", res.Service)
			case "restart":
				f.Say("Timer service %s still runs: stopping it to run again (overlap: kill).", res.Service)
			}
			return nil
		},
	}
}

// NewCmdSchedule builds `herd schedule at TIME|in DURATION [--name N]
// [--user U] -- COMMAND [ARG...]`.
func NewCmdSchedule(f *cmdutil.Factory) *cobra.Command {
	var args wire.SpawnArgs
	cmd := &cobra.Command{
		Use:   "schedule (at TIME | in DURATION) [--name NAME] [--user USER] -- COMMAND [ARG...]",
		Short: "Run a command once, later, as a transient service (listed by herd timers until it ran)",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash < 2 || dash == len(argv) || argv[0] != "at" && argv[0] != "in" {
				return cmdutil.UsageError("schedule: expected at TIME or in DURATION, then -- and the command (herd schedule in 10m -- touch /tmp/x)")
			}
			at, err := ParseWhen(argv[0], strings.Join(argv[1:dash], " "), time.Now())
			if err != nil {
				return cmdutil.UsageError("schedule: " + err.Error())
			}
			args.Command, args.At = argv[dash:], at
			b, err := json.Marshal(args)
			if err != nil {
				return f.Fail(err.Error())
			}
			var res wire.ScheduleResult
			if done, err := f.Call(wire.Request{Action: "schedule", Args: []string{string(b)}}, "", &res); done || err != nil {
				return err
			}
			f.Say("Scheduled transient service %s at %s.", res.Service, res.At.Local().Format(time.DateTime))
			return nil
		},
	}
	cmd.Flags().StringVar(&args.Name, "name", "", "the service's name (default: transient-N)")
	cmd.Flags().StringVar(&args.User, "user", "", "run the command as USER (any but the daemon's own: a daemon running as root only)")
	return cmd
}

// ParseWhen reads `at TIME` (HH:MM[:SS], today or else tomorrow;
// YYYY-MM-DD HH:MM[:SS]; RFC 3339) or `in DURATION` (10m, 1h30m, 2d,
// 90 seconds as 90) into an instant, from now.
func ParseWhen(kind, value string, now time.Time) (time.Time, error) {
	switch kind {
	case "in":
		d, err := parseDuration(value)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(d), nil
	case "at":
		if t, err := time.Parse(time.RFC3339, value); err == nil {
			return t, nil
		}
		for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
			if t, err := time.ParseInLocation(layout, value, now.Location()); err == nil {
				return t, nil
			}
		}
		for _, layout := range []string{"15:04:05", "15:04"} {
			c, err := time.ParseInLocation(layout, value, now.Location())
			if err != nil {
				continue
			}
			y, m, d := now.Date()
			t := time.Date(y, m, d, c.Hour(), c.Minute(), c.Second(), 0, now.Location())
			if !t.After(now) {
				t = time.Date(y, m, d+1, c.Hour(), c.Minute(), c.Second(), 0, now.Location())
			}
			return t, nil
		}
		return time.Time{}, fmt.Errorf("at %q: expected HH:MM[:SS], YYYY-MM-DD HH:MM[:SS] or an RFC 3339 time", value)
	}
	return time.Time{}, fmt.Errorf("expected at TIME or in DURATION, got %q", kind)
}

func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("in %q: expected a duration such as 30s, 10m, 1h30m, 2d", s)
	}
	return d, nil
}
