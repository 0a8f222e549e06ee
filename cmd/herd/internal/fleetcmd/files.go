package fleetcmd

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// FilesDoc is `herd fleet push --json` and `herd fleet pull --json`'s
// document.
type FilesDoc struct {
	// Run is the number the local daemon recorded the run under; 0 when
	// it could not (RecordError says why).
	Run         int    `json:"run"`
	RecordError string `json:"record_error,omitempty"`
	// Op is push or pull; Source and Dest as given (for a pull, Dest is
	// the local directory that gets one HOST/NAME per host).
	Op       string         `json:"op"`
	Source   string         `json:"source"`
	Dest     string         `json:"dest"`
	Selector string         `json:"selector"`
	Results  []fleet.Result `json:"results"`
	// Groups are the hosts with the same outcome (written, unchanged,
	// refused...), largest first.
	Groups  []fleet.Group `json:"groups"`
	Summary string        `json:"summary"`
	// Bytes is the file content sent (push) or received (pull) in all:
	// 0 when every host already had the file.
	Bytes int64 `json:"bytes"`
}

// PingDoc is `herd fleet ping --json`'s document: each result's duration
// is the host's round trip in seconds.
type PingDoc struct {
	Selector string         `json:"selector"`
	Results  []fleet.Result `json:"results"`
	Groups   []fleet.Group  `json:"groups"`
	Summary  string         `json:"summary"`
}

// runOptions are the flags of push, pull and ping: selector, limits and
// how to reach SSH hosts.
type runOptions struct {
	fleetOptions
	timeout    time.Duration
	fanout     int
	acceptNew  bool
	knownHosts string
	identities []string
}

func (o *runOptions) flags(c *cobra.Command, timeout time.Duration) {
	o.fleetOptions.flags(c)
	c.Flags().DurationVar(&o.timeout, "timeout", timeout, "per-host time limit")
	c.Flags().IntVar(&o.fanout, "fanout", 64, "hosts worked on at once")
	c.Flags().BoolVar(&o.acceptNew, "accept-new", false, "ssh: trust and record the key of a host not in known_hosts")
	c.Flags().StringVar(&o.knownHosts, "known-hosts", "", "ssh: the known_hosts file (default ~/.ssh/known_hosts)")
	c.Flags().StringArrayVar(&o.identities, "identity", nil, "ssh: a private key file (default: the agent and ~/.ssh/id_*)")
}

// run runs viaShepherd or viaSSH on every selected host.
func (o *runOptions) run(f *cmdutil.Factory, viaShepherd fleet.Op, viaSSH func(*fleet.SSH) fleet.Op) ([]fleet.Result, error) {
	hosts, err := selectHosts(f, &o.fleetOptions)
	if err != nil {
		return nil, err
	}
	var s *fleet.SSH
	if slices.ContainsFunc(hosts, func(h *fleet.Host) bool { return h.SSH != nil }) {
		if s, err = fleet.NewSSH(fleet.SSHConfig{KnownHosts: o.knownHosts, AcceptNew: o.acceptNew, Identities: o.identities}); err != nil {
			return nil, f.Fail(err.Error())
		}
		defer s.Close()
	}
	var sshOp fleet.Op
	if s != nil {
		sshOp = viaSSH(s)
	}
	progress := cmdutil.IsTerminal(f.Err) && !f.JSON
	done, failed := 0, 0
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results := fleet.RunOp(ctx, hosts, o.fanout, func(ctx context.Context, h *fleet.Host) fleet.Result {
		if h.SSH != nil {
			return sshOp(ctx, h)
		}
		return viaShepherd(ctx, h)
	}, func(r fleet.Result) {
		done++
		if r.Status() != "ok" {
			failed++
		}
		if progress {
			fmt.Fprintf(cmdutil.RawWriter(f.Err), "\r\033[K%d/%d done, %d failed", done, len(hosts), failed)
		}
	})
	if progress {
		fmt.Fprint(cmdutil.RawWriter(f.Err), "\r\033[K")
	}
	return results, nil
}

// finish records a push or pull, prints it, and fails if a host did.
func finish(f *cmdutil.Factory, op, src, dest, selector string, results []fleet.Result) error {
	groups := fleet.GroupResults(results)
	summary := fleet.Summary(results)
	var total int64
	for _, r := range results {
		total += r.Bytes
	}
	run := wire.FleetRun{Time: time.Now(), Command: []string{op, src, dest}, Selector: selector, Summary: summary, Results: toWire(results)}
	id, recErr := recordRun(f, run)
	if f.JSON {
		doc := FilesDoc{Run: id, Op: op, Source: src, Dest: dest, Selector: selector, Results: results, Groups: groups, Summary: summary, Bytes: total}
		if recErr != nil {
			doc.RecordError = recErr.Error()
		}
		if err := f.PrintDoc(doc); err != nil {
			return f.Fail(err.Error())
		}
	} else {
		printGroups(f, groups)
		verb := "sent"
		if op == "pull" {
			verb = "received"
		}
		summary += fmt.Sprintf("; %d bytes %s", total, verb)
		if id > 0 {
			summary += fmt.Sprintf(" (run %d)", id)
		}
		fmt.Fprintln(f.Out, summary)
		if recErr != nil {
			fmt.Fprintf(f.Err, "herd: warning: the run was not recorded: %v\n", recErr)
		}
	}
	for _, r := range results {
		if r.Status() != "ok" {
			return cmdutil.Failure{Code: cmdutil.ExitFailure}
		}
	}
	return nil
}

func newCmdFleetPush(f *cmdutil.Factory) *cobra.Command {
	var o runOptions
	var force bool
	c := &cobra.Command{
		Use:   "push SRC DEST [-g GROUP] [-t KEY=VALUE] [-H HOST]",
		Short: "Copy a local file to DEST on every selected host (not sent where it is already)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, dest := args[0], args[1]
			if len(dest) == 0 || dest[0] != '/' {
				return cmdutil.UsageError("fleet push: DEST must be an absolute path on the hosts, such as /etc/app.conf")
			}
			lf, err := fleet.StatLocal(src)
			if err != nil {
				return f.Fail(err.Error())
			}
			results, err := o.run(f, fleet.ShepherdPush(f.Socket, lf, dest, o.timeout, force), func(s *fleet.SSH) fleet.Op {
				return func(ctx context.Context, h *fleet.Host) fleet.Result {
					return s.Push(ctx, h, lf, dest, o.timeout, force)
				}
			})
			if err != nil {
				return err
			}
			return finish(f, "push", src, dest, o.sel.String(), results)
		},
	}
	o.flags(c, 5*time.Minute)
	c.Flags().BoolVar(&force, "force", false, "send the file even to hosts that have it already")
	return c
}

func newCmdFleetPull(f *cmdutil.Factory) *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "pull SRC DESTDIR [-g GROUP] [-t KEY=VALUE] [-H HOST]",
		Short: "Copy SRC from every selected host into DESTDIR/HOST/",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, destDir := args[0], args[1]
			if len(src) == 0 || src[0] != '/' {
				return cmdutil.UsageError("fleet pull: SRC must be an absolute path on the hosts, such as /var/log/app.log")
			}
			results, err := o.run(f, fleet.ShepherdPull(f.Socket, src, destDir, o.timeout), func(s *fleet.SSH) fleet.Op {
				return func(ctx context.Context, h *fleet.Host) fleet.Result { return s.Pull(ctx, h, src, destDir, o.timeout) }
			})
			if err != nil {
				return err
			}
			return finish(f, "pull", src, destDir, o.sel.String(), results)
		},
	}
	o.flags(c, 5*time.Minute)
	return c
}

func newCmdFleetPing(f *cmdutil.Factory) *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "ping [-g GROUP] [-t KEY=VALUE] [-H HOST]",
		Short: "Whether every selected host answers, and its round trip",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			results, err := o.run(f, fleet.ShepherdPing(f.Socket, o.timeout), func(s *fleet.SSH) fleet.Op {
				return func(ctx context.Context, h *fleet.Host) fleet.Result { return s.Ping(ctx, h, o.timeout) }
			})
			if err != nil {
				return err
			}
			groups := fleet.GroupResults(results)
			summary := fleet.Summary(results)
			if f.JSON {
				if err := f.PrintDoc(PingDoc{Selector: o.sel.String(), Results: results, Groups: groups, Summary: summary}); err != nil {
					return f.Fail(err.Error())
				}
			} else {
				printGroups(f, groups)
				var ok []fleet.Result
				for _, r := range results {
					if r.Status() == "ok" {
						ok = append(ok, r)
					}
				}
				if len(ok) > 0 {
					slices.SortFunc(ok, func(a, b fleet.Result) int { return cmp.Compare(a.Duration, b.Duration) })
					ms := func(r fleet.Result) string { return fmt.Sprintf("%.2f ms", r.Duration*1000) }
					fmt.Fprintf(f.Out, "Round trip: min %s (%s), median %s, max %s (%s)\n",
						ms(ok[0]), ok[0].Host, ms(ok[len(ok)/2]), ms(ok[len(ok)-1]), ok[len(ok)-1].Host)
				}
				fmt.Fprintln(f.Out, summary)
			}
			for _, r := range results {
				if r.Status() != "ok" {
					return cmdutil.Failure{Code: cmdutil.ExitFailure}
				}
			}
			return nil
		},
	}
	o.flags(c, 10*time.Second)
	return c
}
