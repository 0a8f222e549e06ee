package fleetcmd

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/fleet/bootstrap"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// fleetOptions are the selector and inventory flags shared by hosts and
// fleet exec.
type fleetOptions struct {
	inventory string
	sel       fleet.Selector
}

func (o *fleetOptions) flags(c *cobra.Command) {
	c.Flags().StringVar(&o.inventory, "inventory", DefaultInventory(), "the inventory file")
	c.Flags().StringArrayVarP(&o.sel.Groups, "in", "g", nil, "hosts in this group, or not in it: !GROUP (repeat: every condition)")
	c.Flags().StringArrayVarP(&o.sel.Tags, "tag", "t", nil, "hosts with every tag of a,b (KEY=VALUE or NAME), or without one: !TAG")
	c.Flags().StringArrayVarP(&o.sel.Hosts, "host", "H", nil, "these hosts: web[01-12],db1 (repeat for more)")
	c.Flags().StringArrayVarP(&o.sel.Exclude, "exclude", "x", nil, "not these hosts: web[03-04] (repeat for more)")
}

// DefaultInventory is the inventory file when --inventory is not given:
// $XDG_CONFIG_HOME/herd/inventory.yaml, by default under ~/.config.
func DefaultInventory() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "herd", "inventory.yaml")
}

// selectHosts loads the inventory and applies the selector.
func selectHosts(f *cmdutil.Factory, o *fleetOptions) ([]*fleet.Host, error) {
	_, hosts, err := selectInventory(f, o)
	return hosts, err
}

// selectInventory is selectHosts, with the inventory.
func selectInventory(f *cmdutil.Factory, o *fleetOptions) (*fleet.Inventory, []*fleet.Host, error) {
	inv, err := fleet.LoadInventory(o.inventory)
	if err != nil {
		return nil, nil, f.FailInvalid("invalid inventory "+o.inventory, err)
	}
	if err := o.sel.Check(inv); err != nil {
		return nil, nil, cmdutil.UsageError(err.Error())
	}
	hosts := o.sel.Select(inv)
	if len(hosts) == 0 {
		return nil, nil, f.Fail("no host of " + o.inventory + " matches")
	}
	return inv, hosts, nil
}

// HostsDoc is `herd hosts --json`'s document.
type HostsDoc struct {
	Hosts []HostDoc `json:"hosts"`
}

// TagsDoc is `herd hosts --tags --json`'s document: every tag of the
// selected hosts and how many have it, most common first.
type TagsDoc struct {
	Tags []fleet.TagCount `json:"tags"`
}

// HostDoc is one host of the inventory.
type HostDoc struct {
	Name string `json:"name"`
	// Address is the inventory's: an exec capability (a secret) or an
	// ssh:// address.
	Address string `json:"address"`
	// Via is how herd reaches it: "shepherd" or "ssh".
	Via  string            `json:"via"`
	Tags map[string]string `json:"tags"`
	// Labels are its flat tags (tags: [debian12, arm64]).
	Labels []string `json:"labels"`
	Groups []string `json:"groups"`
}

// NewCmdHosts builds `herd hosts`: the inventory's hosts a selector picks.
func NewCmdHosts(f *cmdutil.Factory) *cobra.Command {
	var o fleetOptions
	var tags bool
	c := &cobra.Command{
		Use:   "hosts [-g GROUP] [-t TAG] [-H HOSTS] [-x HOSTS] [--tags]",
		Short: "The inventory's hosts a selector picks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			hosts, err := selectHosts(f, &o)
			if err != nil {
				return err
			}
			if tags {
				counts := fleet.CountTags(hosts)
				if f.JSON {
					return f.PrintDoc(TagsDoc{Tags: counts})
				}
				for _, c := range counts {
					fmt.Fprintf(f.Out, "%-24s %d\n", c.Tag, c.Hosts)
				}
				return nil
			}
			if f.JSON {
				var doc HostsDoc
				for _, h := range hosts {
					doc.Hosts = append(doc.Hosts, HostDoc{h.Name, h.Address, via(h), h.Tags, append([]string{}, h.Labels...), h.Groups})
				}
				return f.PrintDoc(doc)
			}
			for _, h := range hosts {
				fmt.Fprintf(f.Out, "%-16s %-8s %s\n", h.Name, via(h), describeHost(h))
			}
			return nil
		},
	}
	o.flags(c)
	c.Flags().BoolVar(&tags, "tags", false, "list the selected hosts' tags, with how many hosts have each")
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
	parts = append(parts, h.Labels...)
	if len(h.Groups) > 0 {
		parts = append(parts, "groups: "+strings.Join(h.Groups, ","))
	}
	return strings.Join(parts, " ")
}

// ExecDoc is `herd fleet exec --json`'s document (with --stream, its
// last line, after one line per host as each finishes: a fleet.Result).
type ExecDoc struct {
	// Run is the number the local daemon recorded the run under; 0 when
	// it could not (RecordError says why).
	Run         int            `json:"run"`
	RecordError string         `json:"record_error,omitempty"`
	Command     []string       `json:"command"`
	Selector    string         `json:"selector"`
	Results     []fleet.Result `json:"results"`
	// Groups are the hosts that answered the same, largest first.
	Groups  []fleet.Group `json:"groups"`
	Summary string        `json:"summary"`
	// Diff compares with the last run of the same command (--diff-last),
	// when there is one.
	Diff *DiffDoc `json:"diff,omitempty"`
}

// DiffDoc is `herd fleet diff --json`'s document: which hosts answered
// differently in two runs.
type DiffDoc struct {
	// FromRun and ToRun are the runs compared (with fleet exec
	// --diff-last, ToRun is the run just made: 0 if it was not recorded).
	FromRun int            `json:"from_run"`
	ToRun   int            `json:"to_run"`
	Changes []fleet.Change `json:"changes"`
	// Same counts the hosts that answered the same in both.
	Same int `json:"same"`
}

// BootstrapDoc is `herd fleet bootstrap --json`'s document.
type BootstrapDoc struct {
	Host      string `json:"host"`
	Inventory string `json:"inventory"`
	// Address is the host's exec capability, now its address in the
	// inventory (a secret).
	Address string `json:"address"`
}

// NewCmdFleet builds `herd fleet` and its subcommands: exec, history,
// show, diff, export and bootstrap.
func NewCmdFleet(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "fleet", Short: "Run commands on many hosts, copy files to and from them"}
	var o fleetOptions
	var so sshOptions
	var out execOutput
	exec := &cobra.Command{
		Use:   "exec [-g GROUP] [-t KEY=VALUE] [-H HOST] -- CMD [ARG...]",
		Short: "Run a command on every selected host; group identical answers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, argv []string) error {
			hosts, err := selectHosts(f, &o)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := out
			if !out.group && !out.stream {
				out.group = !cmdutil.IsTerminal(f.Out)
			}
			ran, err := runExec(ctx, f, hosts, argv, o.sel.String(), &so, out)
			if err != nil {
				return err
			}
			for _, r := range ran.results {
				if r.Status() != "ok" {
					return cmdutil.Failure{Code: cmdutil.ExitFailure}
				}
			}
			return nil
		},
	}
	o.flags(exec)
	so.flags(exec)
	exec.Flags().BoolVar(&out.group, "group", false, "group hosts with identical output (default when the output is not a terminal)")
	exec.Flags().BoolVar(&out.stream, "stream", false, "print each host's lines as HOST: line as it finishes (default on a terminal)")
	exec.Flags().BoolVar(&out.diffLast, "diff-last", false, "compare with the last run of the same command")
	cmd.AddCommand(newCmdFleetWatch(f))
	cmd.AddCommand(exec, newCmdFleetPush(f), newCmdFleetPull(f), newCmdFleetPing(f), newCmdFleetHistory(f), newCmdFleetShow(f), withFileDiff(f, newCmdFleetDiff(f)), newCmdFleetExport(f), newCmdFleetBootstrap(f), newCmdFleetSnapshot(f), newCmdFleetTail(f), newCmdFleetShell(f))
	return cmd
}

func newCmdFleetBootstrap(f *cmdutil.Factory) *cobra.Command {
	var inventory, dir, listen, binDir, knownHosts string
	var allow, identities []string
	var acceptNew bool
	c := &cobra.Command{
		Use:   "bootstrap HOST --allow CMD [--allow CMD...]",
		Short: "Install and start a shepherd on an SSH host; from then on reach it over libp2p",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(allow) == 0 {
				return cmdutil.UsageError("fleet bootstrap: give the commands the host will run for you (--allow 'uname -n')")
			}
			inv, err := fleet.LoadInventory(inventory)
			if err != nil {
				return f.Fail(err.Error())
			}
			var host *fleet.Host
			for _, h := range inv.Hosts {
				if h.Name == args[0] {
					host = h
				}
			}
			if host == nil || host.SSH == nil {
				return f.Fail(fmt.Sprintf("%s: no ssh:// host %s", inventory, args[0]))
			}
			// The local daemon's peer ID, to which the host grants its
			// exec capability (asked quietly: with --json the document
			// is the bootstrap's).
			rep, err := f.Request(wire.Request{Action: "id"})
			if err != nil {
				return err
			}
			if !rep.OK {
				return f.ReplyError(rep.Error, "")
			}
			var id wire.NetID
			if err := json.Unmarshal(rep.Result, &id); err != nil {
				return f.Fail("malformed reply from the daemon: " + err.Error())
			}
			if binDir == "" {
				self, err := os.Executable()
				if err != nil {
					return f.Fail(err.Error())
				}
				binDir = filepath.Dir(self)
			}
			s, err := fleet.NewSSH(fleet.SSHConfig{KnownHosts: knownHosts, AcceptNew: acceptNew, Identities: identities})
			if err != nil {
				return f.Fail(err.Error())
			}
			defer s.Close()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ref, err := bootstrap.Run(ctx, s, host, bootstrap.Options{
				Shepherd: filepath.Join(binDir, "shepherd"), Herd: filepath.Join(binDir, "herd"),
				Dir: dir, Listen: listen, Allow: allow, Peer: id.PeerID,
			})
			if err != nil {
				return f.Fail(err.Error())
			}
			if err := fleet.SetAddress(inventory, host.Name, ref); err != nil {
				if f.JSON {
					return f.Fail("the host runs a shepherd, but the inventory was not updated: " + err.Error() + "; its exec capability is " + ref)
				}
				fmt.Fprintf(f.Out, "%s\n", ref)
				return f.Fail("the host runs a shepherd, but the inventory was not updated: " + err.Error() + "; its exec capability is above")
			}
			if f.JSON {
				return f.PrintDoc(BootstrapDoc{Host: host.Name, Inventory: inventory, Address: ref})
			}
			f.Say("Host %s now runs a shepherd; %s reaches it over libp2p with its exec capability.", host.Name, inventory)
			return nil
		},
	}
	c.Flags().StringVar(&inventory, "inventory", DefaultInventory(), "the inventory file (the host's address is replaced)")
	c.Flags().StringArrayVar(&allow, "allow", nil, "a command line the host will run (or a prefix ending in ' *'); repeat")
	c.Flags().StringVar(&dir, "dir", ".local/share/shepherd-fleet", "where on the host (relative: to the SSH user's home)")
	c.Flags().StringVar(&listen, "listen", "/ip4/0.0.0.0/tcp/4001", "the host daemon's libp2p address")
	c.Flags().StringVar(&binDir, "binaries", "", "directory holding the shepherd and herd to install (default: herd's own)")
	c.Flags().BoolVar(&acceptNew, "accept-new", false, "trust and record the host's key if unknown")
	c.Flags().StringVar(&knownHosts, "known-hosts", "", "the known_hosts file (default ~/.ssh/known_hosts)")
	c.Flags().StringArrayVar(&identities, "identity", nil, "a private key file (default: the agent, ~/.ssh/config's IdentityFile and ~/.ssh/id_*)")
	return c
}

func toWire(rs []fleet.Result) []wire.FleetHostResult {
	out := make([]wire.FleetHostResult, len(rs))
	for i, r := range rs {
		out[i] = wire.FleetHostResult{Host: r.Host, Output: r.Output, ExitCode: r.ExitCode, Kind: r.Kind, Err: r.Err, Duration: r.Duration}
	}
	return out
}

func fromWire(rs []wire.FleetHostResult) []fleet.Result {
	out := make([]fleet.Result, len(rs))
	for i, r := range rs {
		out[i] = fleet.Result{Host: r.Host, Output: r.Output, ExitCode: r.ExitCode, Kind: r.Kind, Err: r.Err, Duration: r.Duration}
	}
	return out
}

// recordRun gives the run to the local daemon to keep; 0 when it cannot.
func recordRun(f *cmdutil.Factory, run wire.FleetRun) (int, error) {
	b, _ := json.Marshal(run)
	rep, err := f.QuietCall(wire.Request{Action: "fleet-record", Args: []string{string(b)}}, 10*time.Second)
	if err != nil {
		return 0, err
	}
	var r wire.FleetRun
	json.Unmarshal(rep.Result, &r)
	return r.ID, nil
}

// lastRun is the latest recorded run of argv, or nil.
func lastRun(f *cmdutil.Factory, argv []string) *wire.FleetRun {
	rep, err := f.QuietCall(wire.Request{Action: "fleet-runs"}, 10*time.Second)
	if err != nil {
		return nil
	}
	var runs wire.FleetRuns
	json.Unmarshal(rep.Result, &runs)
	for i := len(runs.Runs) - 1; i >= 0; i-- {
		if slices.Equal(runs.Runs[i].Command, argv) {
			run, err := getRun(f, strconv.Itoa(runs.Runs[i].ID))
			if err == nil {
				return &run
			}
		}
	}
	return nil
}

func getRun(f *cmdutil.Factory, id string) (wire.FleetRun, error) {
	var run wire.FleetRun
	rep, err := f.QuietCall(wire.Request{Action: "fleet-run", Args: []string{id}}, 10*time.Second)
	if err != nil {
		return run, err
	}
	return run, json.Unmarshal(rep.Result, &run)
}

func newCmdFleetHistory(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "history",
		Short: "The fleet runs this daemon has kept",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var runs wire.FleetRuns
			if done, err := f.Call(wire.Request{Action: "fleet-runs"}, "", &runs); done || err != nil {
				return err
			}
			if len(runs.Runs) == 0 {
				fmt.Fprintln(f.Out, "No fleet runs yet.")
				return nil
			}
			tw := tabwriter.NewWriter(f.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RUN\tTIME\tSELECTOR\tSUMMARY\tCOMMAND")
			for _, r := range runs.Runs {
				sel := r.Selector
				if sel == "" {
					sel = "all"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", r.ID, r.Time.Local().Format("2006-01-02 15:04:05"), sel, r.Summary, fleet.ShellQuote(r.Command))
			}
			return tw.Flush()
		},
	}
}

func newCmdFleetShow(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "show RUN",
		Short: "A past fleet run's answers, grouped",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var run wire.FleetRun
			if done, err := f.Call(wire.Request{Action: "fleet-run", Args: args}, "", &run); done || err != nil {
				return err
			}
			fmt.Fprintf(f.Out, "Run %d, %s: %s\n", run.ID, run.Time.Local().Format("2006-01-02 15:04:05"), fleet.ShellQuote(run.Command))
			printGroups(f, fleet.GroupResults(fromWire(run.Results)))
			fmt.Fprintln(f.Out, run.Summary)
			return nil
		},
	}
}

func newCmdFleetDiff(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "diff RUN1 RUN2",
		Short: "Which hosts answered differently in two runs",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var runs [2]wire.FleetRun
			for i, id := range args {
				run, err := getRun(f, id)
				if e, ok := err.(*wire.Error); ok {
					return f.ReplyError(e, "")
				} else if err != nil {
					return f.FailKind(wire.Unreachable, err.Error())
				}
				runs[i] = run
			}
			printDiff(f, runs[0], runs[1])
			return nil
		},
	}
}

func diffDoc(a, b wire.FleetRun) DiffDoc {
	changes, same := fleet.Diff(fromWire(a.Results), fromWire(b.Results))
	return DiffDoc{FromRun: a.ID, ToRun: b.ID, Changes: changes, Same: same}
}

func printDiff(f *cmdutil.Factory, a, b wire.FleetRun) {
	if f.JSON {
		f.PrintDoc(diffDoc(a, b))
		return
	}
	changes, same := fleet.Diff(fromWire(a.Results), fromWire(b.Results))
	n := 0
	for _, c := range changes {
		n += len(c.Hosts)
	}
	label := func(r wire.FleetRun) string {
		if r.ID == 0 {
			return "this run"
		}
		return fmt.Sprintf("run %d", r.ID)
	}
	fmt.Fprintf(f.Out, "From %s to %s: %d hosts changed, %d the same.\n", label(a), label(b), n, same)
	const rule = "---------------"
	for _, c := range changes {
		fmt.Fprintf(f.Out, "%s\n%s (%d)  %s -> %s\n%s\n", rule, fleet.Fold(c.Hosts), len(c.Hosts), c.From, c.To, rule)
		if c.Diff != "" {
			fmt.Fprintf(f.Out, "--- %s\n+++ %s\n%s", label(a), label(b), c.Diff)
		}
	}
}

func newCmdFleetExport(f *cmdutil.Factory) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "export RUN [--format json|csv]",
		Short: "A past fleet run, every host's answer, as JSON or CSV",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "json" && format != "csv" {
				return cmdutil.UsageError("export: --format is json or csv")
			}
			if f.JSON && format == "csv" {
				return cmdutil.UsageError("export: --json and --format csv: choose one")
			}
			var run wire.FleetRun
			rep, err := f.Request(wire.Request{Action: "fleet-run", Args: args})
			if err != nil {
				return err
			}
			if !rep.OK {
				return f.ReplyError(rep.Error, "")
			}
			if err := json.Unmarshal(rep.Result, &run); err != nil {
				return f.Fail("malformed reply from the daemon: " + err.Error())
			}
			if format == "json" {
				// The document of the contract, --json or not.
				return f.PrintDoc(run)
			}
			w := csv.NewWriter(f.Out)
			w.Write([]string{"run", "host", "status", "exit_code", "duration_s", "output", "error"})
			for _, r := range fromWire(run.Results) {
				w.Write([]string{strconv.Itoa(run.ID), r.Host, r.Status(), strconv.Itoa(r.ExitCode), strconv.FormatFloat(r.Duration, 'f', 3, 64), r.Output, r.Err})
			}
			w.Flush()
			return w.Error()
		},
	}
	c.Flags().StringVar(&format, "format", "json", "json or csv")
	return c
}

func printStreamed(f *cmdutil.Factory, r fleet.Result) {
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

func printGroups(f *cmdutil.Factory, groups []fleet.Group) {
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
