package fleetcmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/fleet/insight"
	"github.com/spf13/cobra"
)

// FileDiffDoc is `herd fleet diff PATH --json`'s document: the copies of
// one file on the selected hosts, grouped by content.
type FileDiffDoc struct {
	Selector string `json:"selector"`
	insight.Drift
}

// majorityShown bounds the majority's copy printed in full (in lines).
const majorityShown = 200

// isRunPair says whether the arguments of `herd fleet diff` name two
// runs (two numbers) rather than a file (one absolute path).
func isRunPair(args []string) bool {
	if len(args) != 2 {
		return false
	}
	for _, a := range args {
		if _, err := strconv.Atoi(a); err != nil {
			return false
		}
	}
	return true
}

// withFileDiff makes runs (`herd fleet diff RUN1 RUN2`) also answer
// `herd fleet diff PATH`: two numbers are runs, one absolute path a file.
func withFileDiff(f *cmdutil.Factory, runs *cobra.Command) *cobra.Command {
	var o runOptions
	var save string
	var maxSize string
	runsRun := runs.RunE
	runs.Use = "diff RUN1 RUN2 | diff PATH [-g GROUP] [-t KEY=VALUE] [-H HOST] [--save DIR]"
	runs.Short = "Which hosts answered differently in two runs; or how a file differs across hosts"
	runs.Long = "With two run numbers: which hosts answered differently in the two runs.\n" +
		"With one absolute PATH: fetch the file from every selected host (a read capability on shepherd hosts,\n" +
		"SFTP on SSH hosts), group identical copies by sha256, print the majority once and a unified diff of\n" +
		"every other group against it, then 'N files compared, M differ'. Exit 1 when a copy differs or a host fails."
	runs.Args = cobra.RangeArgs(1, 2)
	runs.RunE = func(cmd *cobra.Command, args []string) error {
		if isRunPair(args) {
			return runsRun(cmd, args)
		}
		if len(args) != 1 || !strings.HasPrefix(args[0], "/") {
			return cmdutil.UsageError("fleet diff: expected two run numbers (RUN1 RUN2) or one absolute file path (PATH, such as /etc/nginx/nginx.conf)")
		}
		limit, err := parseSize(maxSize)
		if err != nil {
			return cmdutil.UsageError("fleet diff: --max-size: " + err.Error())
		}
		return fileDiff(f, &o, args[0], limit, save)
	}
	o.flags(runs, time.Minute)
	runs.Flags().StringVar(&save, "save", "", "file diff: keep every host's copy in DIR/HOST/NAME")
	runs.Flags().StringVar(&maxSize, "max-size", "16M", "file diff: the largest copy fetched (such as 1M)")
	return runs
}

// parseSize reads 16M, 512K, 1G or a number of bytes.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q is not a size such as 16M", s)
	}
	return n * mult, nil
}

func fileDiff(f *cmdutil.Factory, o *runOptions, path string, limit int64, save string) error {
	copies := insight.NewCopies()
	results, err := o.run(f, insight.ShepherdRead(f.Socket, path, limit, o.timeout, copies), func(s *fleet.SSH) fleet.Op {
		return func(ctx context.Context, h *fleet.Host) fleet.Result {
			return insight.ReadFile(ctx, s, h, path, limit, o.timeout, copies)
		}
	})
	if err != nil {
		return err
	}
	d := insight.Compare(path, results, copies)
	if save != "" {
		for _, r := range results {
			if r.Err != "" {
				continue
			}
			data, _ := copies.Get(r.Output)
			dest := fleet.PulledPath(save, r.Host, path)
			if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
				return f.Fail(fmt.Sprintf("--save %s: %v", save, err))
			}
			if err := os.WriteFile(dest, data, 0o644); err != nil {
				return f.Fail(fmt.Sprintf("--save %s: %v", save, err))
			}
		}
	}
	if f.JSON {
		if err := f.PrintDoc(FileDiffDoc{Selector: o.sel.String(), Drift: d}); err != nil {
			return f.Fail(err.Error())
		}
	} else {
		printDrift(f, d, copies)
	}
	if d.Differ > 0 || len(d.Failed) > 0 {
		return cmdutil.Failure{Code: cmdutil.ExitFailure}
	}
	return nil
}

func printDrift(f *cmdutil.Factory, d insight.Drift, copies *insight.Copies) {
	const rule = "---------------"
	if m := d.Majority; m != nil {
		fmt.Fprintf(f.Out, "%s\n%s (%d)  majority: sha256 %s, %d bytes\n%s\n", rule, fleet.Fold(m.Hosts), len(m.Hosts), m.SHA256[:12], m.Size, rule)
		data, _ := copies.Get(m.SHA256)
		switch lines := strings.Count(string(data), "\n"); {
		case !insight.IsText(data):
			fmt.Fprintln(f.Out, "(not text)")
		case lines > majorityShown:
			fmt.Fprintf(f.Out, "(%d lines, not shown; --save DIR keeps every copy)\n", lines)
		default:
			fmt.Fprint(f.Out, string(data))
			if len(data) > 0 && data[len(data)-1] != '\n' {
				fmt.Fprintln(f.Out, "\n\\ No newline at end of file")
			}
		}
	}
	for _, v := range d.Outliers {
		fmt.Fprintf(f.Out, "%s\n%s (%d)  differs: sha256 %s, %d bytes\n%s\n", rule, fleet.Fold(v.Hosts), len(v.Hosts), v.SHA256[:12], v.Size, rule)
		if v.Binary {
			fmt.Fprintln(f.Out, "(not text: the copies differ)")
			continue
		}
		fmt.Fprint(f.Out, v.Diff)
	}
	for _, g := range d.Failed {
		fmt.Fprintf(f.Out, "%s\n%s (%d)  %s\n%s\n", rule, fleet.Fold(g.Hosts), len(g.Hosts), g.Err, rule)
	}
	fmt.Fprintf(f.Out, "%d files compared, %d differ", d.Compared, d.Differ)
	if n := failedHosts(d.Failed); n > 0 {
		fmt.Fprintf(f.Out, ", %d hosts failed", n)
	}
	fmt.Fprintln(f.Out)
}

func failedHosts(gs []fleet.Group) int {
	n := 0
	for _, g := range gs {
		n += len(g.Hosts)
	}
	return n
}
