package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/services"
	"github.com/spf13/cobra"
)

// fleetOptions are the selector and inventory flags shared by hosts and
// fleet exec.
type fleetOptions struct {
	inventory string
	sel       fleet.Selector
}

func (o *fleetOptions) flags(c *cobra.Command) {
	c.Flags().StringVar(&o.inventory, "inventory", defaultInventory(), "the inventory file")
	c.Flags().StringArrayVarP(&o.sel.Groups, "in", "g", nil, "hosts in this group (repeat: in every one)")
	c.Flags().StringArrayVarP(&o.sel.Tags, "tag", "t", nil, "hosts with KEY=VALUE, or without it: !KEY=VALUE")
	c.Flags().StringArrayVarP(&o.sel.Hosts, "host", "H", nil, "this host (repeat for more)")
}

func defaultInventory() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "herd", "inventory.yaml")
}

// hosts loads the inventory and applies the selector.
func (f *Factory) hosts(o *fleetOptions) ([]*fleet.Host, error) {
	inv, err := fleet.LoadInventory(o.inventory)
	if err != nil {
		if list, ok := err.(services.ErrorList); ok {
			for _, e := range list {
				fmt.Fprintln(f.Err, e)
			}
			return nil, f.fail(fmt.Sprintf("invalid inventory %s: %d error(s)", o.inventory, len(list)))
		}
		return nil, f.fail(err.Error())
	}
	if err := o.sel.Check(inv); err != nil {
		return nil, usageError(err.Error())
	}
	hosts := o.sel.Select(inv)
	if len(hosts) == 0 {
		return nil, f.fail("no host of " + o.inventory + " matches")
	}
	return hosts, nil
}

func newCmdHosts(f *Factory) *cobra.Command {
	var o fleetOptions
	c := &cobra.Command{
		Use:   "hosts [-g GROUP] [-t KEY=VALUE] [-H HOST]",
		Short: "The inventory's hosts a selector picks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			hosts, err := f.hosts(&o)
			if err != nil {
				return err
			}
			if f.JSON {
				type jh struct {
					Name    string            `json:"name"`
					Address string            `json:"address"`
					Via     string            `json:"via"`
					Tags    map[string]string `json:"tags"`
					Groups  []string          `json:"groups"`
				}
				var out []jh
				for _, h := range hosts {
					out = append(out, jh{h.Name, h.Address, via(h), h.Tags, h.Groups})
				}
				return json.NewEncoder(f.Out).Encode(out)
			}
			for _, h := range hosts {
				fmt.Fprintf(f.Out, "%-16s %-8s %s\n", h.Name, via(h), describeHost(h))
			}
			return nil
		},
	}
	o.flags(c)
	return c
}

func via(h *fleet.Host) string {
	if h.SSH != nil {
		return "ssh"
	}
	return "shepherd"
}

func describeHost(h *fleet.Host) string {
	var parts []string
	for _, k := range sortedKeys(h.Tags) {
		parts = append(parts, k+"="+h.Tags[k])
	}
	if len(h.Groups) > 0 {
		parts = append(parts, "groups: "+strings.Join(h.Groups, ","))
	}
	return strings.Join(parts, " ")
}

func newCmdFleet(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "fleet", Short: "Run commands on many hosts"}
	var o fleetOptions
	var group, stream, acceptNew bool
	var timeout time.Duration
	var fanout int
	var knownHosts string
	var identities []string
	exec := &cobra.Command{
		Use:   "exec [-g GROUP] [-t KEY=VALUE] [-H HOST] -- CMD [ARG...]",
		Short: "Run a command on every selected host; group identical answers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			hosts, err := f.hosts(&o)
			if err != nil {
				return err
			}
			var sshExec *fleet.SSH
			for _, h := range hosts {
				if h.SSH != nil && sshExec == nil {
					if sshExec, err = fleet.NewSSH(fleet.SSHConfig{KnownHosts: knownHosts, AcceptNew: acceptNew, Identities: identities}); err != nil {
						return f.fail(err.Error())
					}
				}
			}
			viaShepherd := fleet.ShepherdExec(f.Socket)
			run := func(ctx context.Context, h *fleet.Host, argv []string, timeout time.Duration) fleet.Result {
				if h.SSH != nil {
					return sshExec.Exec(ctx, h, argv, timeout)
				}
				return viaShepherd(ctx, h, argv, timeout)
			}
			if !group && !stream {
				group = !isTerminal(f.Out)
			}
			progress := isTerminal(f.Err) && !f.JSON
			done, failed := 0, 0
			each := func(r fleet.Result) {
				done++
				if r.Status() != "ok" {
					failed++
				}
				if progress {
					fmt.Fprintf(f.Err, "\r\033[K%d/%d done, %d failed", done, len(hosts), failed)
				}
				if !group && !f.JSON {
					if progress {
						fmt.Fprint(f.Err, "\r\033[K")
					}
					printStreamed(f, r)
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			results := fleet.Run(ctx, hosts, argv, fanout, timeout, run, each)
			if progress {
				fmt.Fprint(f.Err, "\r\033[K")
			}
			groups := fleet.GroupResults(results)
			summary := fleet.Summary(results)
			if f.JSON {
				json.NewEncoder(f.Out).Encode(map[string]any{"command": argv, "results": results, "groups": groups, "summary": summary})
			} else {
				if group {
					printGroups(f, groups)
				}
				fmt.Fprintln(f.Out, summary)
			}
			for _, r := range results {
				if r.Status() != "ok" {
					return failure{ExitFailure}
				}
			}
			return nil
		},
	}
	o.flags(exec)
	exec.Flags().BoolVar(&group, "group", false, "group hosts with identical output (default when the output is not a terminal)")
	exec.Flags().BoolVar(&stream, "stream", false, "print each host's lines as HOST: line as it finishes (default on a terminal)")
	exec.Flags().DurationVar(&timeout, "timeout", time.Minute, "per-host time limit")
	exec.Flags().IntVar(&fanout, "fanout", 64, "hosts run at once")
	exec.Flags().BoolVar(&acceptNew, "accept-new", false, "ssh: trust and record the key of a host not in known_hosts")
	exec.Flags().StringVar(&knownHosts, "known-hosts", "", "ssh: the known_hosts file (default ~/.ssh/known_hosts)")
	exec.Flags().StringArrayVar(&identities, "identity", nil, "ssh: a private key file (default: the agent and ~/.ssh/id_*)")
	cmd.AddCommand(exec)
	return cmd
}

func printStreamed(f *Factory, r fleet.Result) {
	for _, line := range strings.Split(strings.TrimSuffix(r.Output, "\n"), "\n") {
		if line != "" || r.Output != "" {
			fmt.Fprintf(f.Out, "%s: %s\n", r.Host, line)
		}
	}
	switch {
	case r.Err != "":
		fmt.Fprintf(f.Out, "%s: [%s] %s\n", r.Host, r.Kind, r.Err)
	case r.ExitCode != 0:
		fmt.Fprintf(f.Out, "%s: [exit %d]\n", r.Host, r.ExitCode)
	}
}

func printGroups(f *Factory, groups []fleet.Group) {
	const rule = "---------------"
	for _, g := range groups {
		head := fmt.Sprintf("%s (%d)", fleet.Fold(g.Hosts), len(g.Hosts))
		switch {
		case g.Err != "":
			head += "  " + g.Err
		case g.ExitCode != 0:
			head += fmt.Sprintf("  exit %d", g.ExitCode)
		}
		fmt.Fprintf(f.Out, "%s\n%s\n%s\n", rule, head, rule)
		if g.Output != "" {
			fmt.Fprint(f.Out, g.Output)
			if !strings.HasSuffix(g.Output, "\n") {
				fmt.Fprintln(f.Out)
			}
		}
	}
}

func isTerminal(w any) bool {
	file, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
