package fleetcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/fleet/insight"
	"github.com/shepherd-go/shepherd/history/fleetsnapshots"
	"github.com/shepherd-go/shepherd/internal/snapshot"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// SnapshotDoc is `herd fleet snapshot --json`'s document: the snapshot
// taken (its number) and how each host answered.
type SnapshotDoc struct {
	// ID is the number the local daemon kept it under.
	ID       int            `json:"id"`
	Selector string         `json:"selector"`
	Results  []fleet.Result `json:"results"`
	Groups   []fleet.Group  `json:"groups"`
	Summary  string         `json:"summary"`
}

// SnapshotListDoc is `herd fleet snapshot list --json`'s document.
type SnapshotListDoc struct {
	Snapshots []fleetsnapshots.Snapshot `json:"snapshots"`
}

// SnapshotShowDoc is `herd fleet snapshot show|export N --json`'s
// document: every host's facts.
type SnapshotShowDoc struct {
	Snapshot fleetsnapshots.Snapshot `json:"snapshot"`
	Hosts    []snapshot.Host         `json:"hosts"`
}

// SnapshotDiffDoc is `herd fleet snapshot diff A B --json`'s document.
type SnapshotDiffDoc struct {
	From  int                `json:"from"`
	To    int                `json:"to"`
	Hosts []HostSnapshotDiff `json:"hosts"`
	// Same counts the hosts in both with nothing changed.
	Same int `json:"same"`
}

// HostSnapshotDiff is what changed on one host ("only in N" for a host
// in one snapshot only).
type HostSnapshotDiff struct {
	Host    string   `json:"host"`
	Changes []string `json:"changes"`
}

func newCmdFleetSnapshot(f *cmdutil.Factory) *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "snapshot [-g GROUP] [-t KEY=VALUE] [-H HOST] | snapshot list | show N | diff A B | export N",
		Short: "Keep every selected host's facts (OS, disks, packages, services, units) in history; list, show, diff and export them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			facts := insight.NewFacts()
			results, err := o.run(f, insight.ShepherdSnapshot(f.Socket, o.timeout, facts), func(s *fleet.SSH) fleet.Op {
				return func(ctx context.Context, h *fleet.Host) fleet.Result {
					return insight.SSHSnapshot(ctx, s, h, o.timeout, facts)
				}
			})
			if err != nil {
				return err
			}
			head := fleetsnapshots.Snapshot{Time: time.Now(), Selector: o.sel.String(), Hosts: []string{}, Failed: map[string]string{}}
			for _, r := range results {
				if r.Err == "" {
					head.Hosts = append(head.Hosts, r.Host)
				} else {
					head.Failed[r.Host] = r.Err
				}
			}
			b, _ := json.Marshal(head)
			rep, err := f.QuietCall(wire.Request{Action: "snapshot-new", Args: []string{string(b)}}, 10*time.Second)
			if err != nil {
				return f.Fail("the snapshot could not be kept: " + err.Error())
			}
			var made fleetsnapshots.Snapshot
			json.Unmarshal(rep.Result, &made)
			head.ID = made.ID
			for _, name := range head.Hosts {
				h, _ := facts.Get(name)
				if _, err := f.QuietCall(wire.Request{Action: "snapshot-put", Args: []string{strconv.Itoa(head.ID), name, insight.MarshalHost(h)}}, 10*time.Second); err != nil {
					return f.Fail(fmt.Sprintf("host %s's facts could not be kept: %v", name, err))
				}
			}
			summary := fleet.Summary(results)
			if f.JSON {
				if err := f.PrintDoc(SnapshotDoc{ID: head.ID, Selector: o.sel.String(), Results: results, Groups: fleet.GroupResults(results), Summary: summary}); err != nil {
					return f.Fail(err.Error())
				}
			} else {
				printGroups(f, fleet.GroupResults(results))
				fmt.Fprintf(f.Out, "%s (snapshot %d)\n", summary, head.ID)
			}
			if len(head.Failed) > 0 {
				return cmdutil.Failure{Code: cmdutil.ExitFailure}
			}
			return nil
		},
	}
	o.flags(c, time.Minute)
	list := &cobra.Command{
		Use:   "list",
		Short: "The snapshots this daemon has kept",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var l SnapshotListDoc
			if done, err := f.Call(wire.Request{Action: "snapshot-list"}, "", &l); done || err != nil {
				return err
			}
			if len(l.Snapshots) == 0 {
				fmt.Fprintln(f.Out, "No snapshots yet.")
				return nil
			}
			for _, s := range l.Snapshots {
				fmt.Fprintf(f.Out, "%-4d %s  %3d hosts", s.ID, s.Time.Local().Format("2006-01-02 15:04:05"), len(s.Hosts))
				if len(s.Failed) > 0 {
					fmt.Fprintf(f.Out, ", %d failed", len(s.Failed))
				}
				if s.Selector != "" {
					fmt.Fprintf(f.Out, "  %s", s.Selector)
				}
				fmt.Fprintln(f.Out)
			}
			return nil
		},
	}
	show := func(use, short string, always bool) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				doc, err := loadSnapshot(f, args[0])
				if err != nil {
					return err
				}
				if f.JSON || always {
					if err := f.PrintDoc(doc); err != nil {
						return f.Fail(err.Error())
					}
					return nil
				}
				printSnapshot(f, doc)
				return nil
			},
		}
	}
	diff := &cobra.Command{
		Use:   "diff A B",
		Short: "What changed on each host from snapshot A to snapshot B",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := loadSnapshot(f, args[0])
			if err != nil {
				return err
			}
			b, err := loadSnapshot(f, args[1])
			if err != nil {
				return err
			}
			d := diffSnapshots(a, b)
			if f.JSON {
				if err := f.PrintDoc(d); err != nil {
					return f.Fail(err.Error())
				}
				return nil
			}
			fmt.Fprintf(f.Out, "From snapshot %d to %d: %d hosts changed, %d the same.\n", d.From, d.To, len(d.Hosts), d.Same)
			for _, h := range d.Hosts {
				fmt.Fprintf(f.Out, "%s:\n", h.Host)
				for _, c := range h.Changes {
					fmt.Fprintf(f.Out, "  %s\n", c)
				}
			}
			return nil
		},
	}
	c.AddCommand(list, show("show N", "Every host's facts in snapshot N", false),
		diff, show("export N", "Snapshot N, every host's facts, as JSON", true))
	return c
}

// loadSnapshot reads snapshot id and every host's facts from the daemon.
func loadSnapshot(f *cmdutil.Factory, id string) (SnapshotShowDoc, error) {
	var doc SnapshotShowDoc
	fail := func(err error) (SnapshotShowDoc, error) {
		if e, ok := err.(*wire.Error); ok {
			return doc, f.ReplyError(e, "")
		}
		return doc, f.FailKind(wire.Unreachable, err.Error())
	}
	if _, err := strconv.Atoi(id); err != nil {
		return doc, cmdutil.UsageError(fmt.Sprintf("snapshot %q: expected a snapshot number (herd fleet snapshot list)", id))
	}
	rep, err := f.QuietCall(wire.Request{Action: "snapshot-get", Args: []string{id}}, 10*time.Second)
	if err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(rep.Result, &doc.Snapshot); err != nil {
		return doc, f.Fail("malformed reply from the daemon: " + err.Error())
	}
	doc.Hosts = []snapshot.Host{}
	for _, name := range doc.Snapshot.Hosts {
		rep, err := f.QuietCall(wire.Request{Action: "snapshot-host", Args: []string{id, name}}, 10*time.Second)
		if err != nil {
			return fail(err)
		}
		var h snapshot.Host
		if err := json.Unmarshal(rep.Result, &h); err != nil {
			return doc, f.Fail("malformed reply from the daemon: " + err.Error())
		}
		doc.Hosts = append(doc.Hosts, h)
	}
	return doc, nil
}

func diffSnapshots(a, b SnapshotShowDoc) SnapshotDiffDoc {
	d := SnapshotDiffDoc{From: a.Snapshot.ID, To: b.Snapshot.ID, Hosts: []HostSnapshotDiff{}}
	old := map[string]snapshot.Host{}
	for _, h := range a.Hosts {
		old[h.Host] = h
	}
	seen := map[string]bool{}
	for _, h := range b.Hosts {
		seen[h.Host] = true
		o, ok := old[h.Host]
		if !ok {
			d.Hosts = append(d.Hosts, HostSnapshotDiff{h.Host, []string{fmt.Sprintf("only in snapshot %d", b.Snapshot.ID)}})
			continue
		}
		if ch := snapshot.Changes(o, h); len(ch) > 0 {
			d.Hosts = append(d.Hosts, HostSnapshotDiff{h.Host, ch})
		} else {
			d.Same++
		}
	}
	for _, h := range a.Hosts {
		if !seen[h.Host] {
			d.Hosts = append(d.Hosts, HostSnapshotDiff{h.Host, []string{fmt.Sprintf("only in snapshot %d", a.Snapshot.ID)}})
		}
	}
	return d
}

func printSnapshot(f *cmdutil.Factory, doc SnapshotShowDoc) {
	s := doc.Snapshot
	fmt.Fprintf(f.Out, "Snapshot %d, %s: %d hosts\n", s.ID, s.Time.Local().Format("2006-01-02 15:04:05"), len(s.Hosts))
	gib := func(n int64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }
	for _, h := range doc.Hosts {
		fmt.Fprintf(f.Out, "%s: %s, %s, up %s, %d CPUs, %s (%s available)\n", h.Host, h.OS, h.Kernel,
			(time.Duration(h.UptimeSeconds) * time.Second).String(), h.CPUs, gib(h.MemTotal), gib(h.MemAvailable))
		for _, d := range h.Disks {
			fmt.Fprintf(f.Out, "  disk %s: %d%% of %s\n", d.Mount, d.UsePercent, gib(d.Size))
		}
		if h.PackageManager != "" {
			fmt.Fprintf(f.Out, "  packages: %d (%s)\n", len(h.Packages), h.PackageManager)
		}
		for _, sv := range h.Services {
			fmt.Fprintf(f.Out, "  service %s: %s\n", sv.Name, sv.State)
		}
		if len(h.Units) > 0 {
			failed := 0
			for _, u := range h.Units {
				if u.Active == "failed" {
					failed++
				}
			}
			fmt.Fprintf(f.Out, "  units: %d (%d failed)\n", len(h.Units), failed)
		}
	}
	for _, host := range slices.Sorted(maps.Keys(s.Failed)) {
		fmt.Fprintf(f.Out, "%s: not taken: %s\n", host, s.Failed[host])
	}
}
