package fleetcmd

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/fleet/insight"
	"github.com/shepherd-go/shepherd/internal/tail"
	"github.com/spf13/cobra"
)

// TailLineDoc is `herd fleet tail --json`'s line: one line a host sent,
// or a note about its stream (dropped, reconnected, refused).
type TailLineDoc struct {
	Host string `json:"host"`
	Line string `json:"line,omitempty"`
	Note string `json:"note,omitempty"`
}

// hostColours are the ANSI colours of host prefixes on a terminal.
var hostColours = []string{"31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96"}

func newCmdFleetTail(f *cmdutil.Factory) *cobra.Command {
	var o runOptions
	var a tail.Args
	var since, service, journal string
	var logArgs tail.LogArgs
	c := &cobra.Command{
		Use:   "tail [-g GROUP] [-t KEY=VALUE] [-H HOST] PATH... [--grep RE] [--exclude RE] [--lines N] | tail --journal UNIT [--since 5m] | tail --service NAME [--since 5m]",
		Short: "Follow files (a unit's journal, a shepherd service's log) on every selected host, lines prefixed by host, filtered on the host",
		RunE: func(cmd *cobra.Command, paths []string) error {
			switch {
			case service != "" && (journal != "" || len(paths) > 0):
				return cmdutil.UsageError("fleet tail: PATH..., --journal UNIT or --service NAME: one of them")
			case journal != "" && len(paths) > 0:
				return cmdutil.UsageError("fleet tail: PATH... or --journal UNIT, not both")
			case journal == "" && service == "" && len(paths) == 0:
				return cmdutil.UsageError("fleet tail: expected at least one absolute PATH (or --journal UNIT, or --service NAME)")
			case since != "" && journal == "" && service == "":
				return cmdutil.UsageError("fleet tail: --since applies to --journal and --service (a file's lines carry no time herd can read)")
			}
			for _, p := range paths {
				if len(p) == 0 || p[0] != '/' {
					return cmdutil.UsageError(fmt.Sprintf("fleet tail: %q: expected an absolute path on the hosts, such as /var/log/nginx/error.log", p))
				}
			}
			if _, err := tail.NewFilter(a.Grep, a.Exclude); err != nil {
				return cmdutil.UsageError("fleet tail: " + err.Error())
			}
			if a.Lines < 0 || a.Lines > tail.MaxLines {
				return cmdutil.UsageError(fmt.Sprintf("fleet tail: --lines: expected 0 to %d", tail.MaxLines))
			}
			if since != "" {
				d, err := time.ParseDuration(since)
				if err != nil || d <= 0 {
					return cmdutil.UsageError("fleet tail: --since: expected a duration such as 5m")
				}
				// A host reads it as a duration back from now by its own
				// clock, a service's log and a journal alike.
				logArgs.Since = max(d.Truncate(time.Second), time.Second)
			}
			logArgs.Lines, logArgs.Grep, logArgs.Exclude = a.Lines, a.Grep, a.Exclude
			hosts, err := selectHosts(f, &o.fleetOptions)
			if err != nil {
				return err
			}
			var s *fleet.SSH
			if slices.ContainsFunc(hosts, func(h *fleet.Host) bool { return h.SSH != nil }) {
				if s, err = fleet.NewSSH(fleet.SSHConfig{KnownHosts: o.knownHosts, AcceptNew: o.acceptNew, Identities: o.identities}); err != nil {
					return f.Fail(err.Error())
				}
				defer s.Close()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			lines := make(chan insight.TailLine, 1024)
			emit := func(l insight.TailLine) {
				select {
				case lines <- l:
				case <-ctx.Done():
				}
			}
			var wg sync.WaitGroup
			var failed atomic.Int32
			follow := func(h *fleet.Host, open func(context.Context, bool, func()) error) {
				wg.Go(func() {
					if insight.Follow(ctx, h.Name, open, emit) != nil {
						failed.Add(1)
					}
				})
			}
			for _, h := range hosts {
				if service != "" {
					if h.SSH != nil {
						failed.Add(1)
						wg.Go(func() {
							emit(insight.TailLine{Host: h.Name, Line: "--service follows a shepherd service's log through a capability; this host is reached over SSH: follow the log file by PATH instead", Note: true})
						})
						continue
					}
					follow(h, insight.ServiceLog(f.Socket, h, service, logArgs, emit))
					continue
				}
				if h.SSH != nil && journal != "" {
					follow(h, insight.SSHJournalTail(s, h, journal, a, int(logArgs.Since/time.Second), emit))
					continue
				}
				if h.SSH != nil {
					for _, p := range paths {
						follow(h, insight.SSHFileTail(s, h, p, a, emit))
					}
					continue
				}
				if journal != "" {
					failed.Add(1)
					wg.Go(func() {
						emit(insight.TailLine{Host: h.Name, Line: "--journal is followed over SSH only; this host runs a shepherd", Note: true})
					})
					continue
				}
				for _, p := range paths {
					b := a
					b.Path = p
					follow(h, insight.ShepherdTail(f.Socket, h, b, emit))
				}
			}
			go func() {
				wg.Wait()
				close(lines)
			}()
			printTail(f, hosts, lines, ctx.Done())
			if ctx.Err() == nil && failed.Load() > 0 {
				// Every stream ended, some refused: not Ctrl-C.
				return cmdutil.Failure{Code: cmdutil.ExitFailure}
			}
			return nil
		},
	}
	// The selector flags of runOptions, but --exclude is the lines'
	// (as grep's); hosts are left out with -x/--exclude-host.
	c.Flags().StringVar(&o.inventory, "inventory", DefaultInventory(), "the inventory file")
	c.Flags().StringArrayVarP(&o.sel.Groups, "in", "g", nil, "hosts in this group, or not in it: !GROUP (repeat: every condition)")
	c.Flags().StringArrayVarP(&o.sel.Tags, "tag", "t", nil, "hosts with every tag of a,b (KEY=VALUE or NAME), or without one: !TAG")
	c.Flags().StringArrayVarP(&o.sel.Hosts, "host", "H", nil, "these hosts: web[01-12],db1 (repeat for more)")
	c.Flags().StringArrayVarP(&o.sel.Exclude, "exclude-host", "x", nil, "not these hosts: web[03-04] (repeat for more)")
	c.Flags().BoolVar(&o.acceptNew, "accept-new", false, "ssh: trust and record the key of a host not in known_hosts")
	c.Flags().StringVar(&o.knownHosts, "known-hosts", "", "ssh: the known_hosts file (default ~/.ssh/known_hosts)")
	c.Flags().StringArrayVar(&o.identities, "identity", nil, "ssh: a private key file (default: the agent and ~/.ssh/id_*)")
	c.Flags().StringVar(&a.Grep, "grep", "", "only the lines that match this regular expression (on the host; awk's extended expressions on SSH hosts)")
	c.Flags().StringVar(&a.Exclude, "exclude", "", "not the lines that match this regular expression (on the host)")
	c.Flags().IntVarP(&a.Lines, "lines", "n", 10, "the last N lines of each file first")
	c.Flags().StringVar(&since, "since", "", "--journal, --service: from this long ago, such as 5m")
	c.Flags().StringVar(&service, "service", "", "a shepherd service's own log, through the host's capability on it (the inventory's services: key; it must hold log)")
	c.Flags().StringVar(&journal, "journal", "", "a systemd unit's journal (journalctl, over SSH)")
	return c
}

// printTail prints lines as they come, each prefixed by its host (in a
// colour of its own on a terminal), notes on stderr, until lines is
// closed or done (Ctrl-C).
func printTail(f *cmdutil.Factory, hosts []*fleet.Host, lines <-chan insight.TailLine, done <-chan struct{}) {
	colour := map[string]string{}
	for i, h := range hosts {
		colour[h.Name] = hostColours[i%len(hostColours)]
	}
	tty := cmdutil.IsTerminal(f.Out)
	// Into a pipe or a file, lines (and --json's documents) are written
	// in blocks: whatever has
	// come, flushed as soon as no more is waiting (a write a line took
	// more CPU than the rest of herd at 200,000 lines a second).
	out := bufio.NewWriterSize(f.Out, 64<<10)
	defer out.Flush()
	for {
		var l insight.TailLine
		var ok bool
		if len(lines) == 0 {
			out.Flush()
		}
		select {
		case l, ok = <-lines:
		case <-done:
			return
		}
		if !ok {
			return
		}
		if f.JSON {
			d := TailLineDoc{Host: l.Host, Line: l.Line}
			if l.Note {
				d.Line, d.Note = "", l.Line
			}
			if b, err := cmdutil.MarshalDoc(d); err == nil && !tty {
				out.Write(b) // as the text lines: in blocks
			} else {
				f.PrintDoc(d)
			}
			continue
		}
		if l.Note {
			out.Flush()
			fmt.Fprintf(f.Err, "herd: %s: %s\n", l.Host, l.Line)
			continue
		}
		if tty {
			fmt.Fprintf(cmdutil.RawWriter(f.Out), "\033[%sm%s:\033[0m ", colour[l.Host], l.Host)
			fmt.Fprintln(f.Out, l.Line)
			continue
		}
		out.WriteString(l.Host)
		out.WriteString(": ")
		out.WriteString(l.Line)
		out.WriteByte('\n')
	}
}
