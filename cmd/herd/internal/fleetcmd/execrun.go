package fleetcmd

import (
	"context"
	"fmt"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// execOutput is how a fleet exec prints its answers.
type execOutput struct {
	// group: grouped at the end; stream: HOST: line as each finishes
	// (with --json, a JSON line per host).
	group, stream bool
	// diffLast compares with the last run of the same command and
	// prints how they differ; earlier fetches that run without printing
	// it (the fleet shell's @changed).
	diffLast, earlier bool
}

// execRan is what runExec did.
type execRan struct {
	results []fleet.Result
	// id is the run the daemon recorded (0: not recorded).
	id int
	// earlier is the last recorded run of the same command before this
	// one (with diffLast or earlier; nil when there is none).
	earlier *wire.FleetRun
}

// runExec runs argv on hosts as herd fleet exec does: every host at
// once (so.fanoutFor at a time), printed as out and f.JSON say, recorded in
// the daemon's fleet-run history under selector. ctx ends the run early:
// a host that has not answered by then is reported as failed. The error
// is one already printed (or to print), never a host's failure.
func runExec(ctx context.Context, f *cmdutil.Factory, hosts []*fleet.Host, argv []string, selector string, so *sshOptions, out execOutput) (execRan, error) {
	execOn, closeConns, err := so.transport(f, hosts)
	if err != nil {
		return execRan{}, err
	}
	progress := cmdutil.IsTerminal(f.Err) && !f.JSON
	// --json --stream: a JSON line per host as it finishes.
	jsonLines := f.JSON && out.stream
	done, failed := 0, 0
	each := func(r fleet.Result) {
		done++
		if r.Status() != "ok" {
			failed++
		}
		if progress {
			fmt.Fprintf(cmdutil.RawWriter(f.Err), "\r\033[K%d/%d done, %d failed", done, len(hosts), failed)
		}
		if jsonLines {
			f.PrintDoc(r)
		}
		if !out.group && !f.JSON {
			if progress {
				fmt.Fprint(cmdutil.RawWriter(f.Err), "\r\033[K")
			}
			printStreamed(f, r)
		}
	}
	results := fleet.RunVia(ctx, hosts, argv, so.fanoutFor(hosts), so.timeout, execOn, fleet.ShepherdRelayExec(f.Socket), each)
	closeConns()
	if progress {
		fmt.Fprint(cmdutil.RawWriter(f.Err), "\r\033[K")
	}
	groups := fleet.GroupResults(results)
	summary := fleet.Summary(results)
	run := wire.FleetRun{Time: time.Now(), Command: argv, Selector: selector, Summary: summary, Results: toWire(results)}
	var previous *wire.FleetRun
	if out.diffLast || out.earlier {
		previous = lastRun(f, argv)
	}
	id, recErr := recordRun(f, run)
	ran := execRan{results: results, id: id, earlier: previous}
	if f.JSON {
		doc := ExecDoc{Run: id, Command: argv, Selector: selector, Results: results, Groups: groups, Summary: summary}
		if recErr != nil {
			doc.RecordError = recErr.Error()
		}
		if previous != nil && out.diffLast {
			d := diffDoc(*previous, run)
			d.ToRun = id
			doc.Diff = &d
		}
		if err := f.PrintDoc(doc); err != nil {
			return ran, f.Fail(err.Error())
		}
	} else {
		if out.group {
			printGroups(f, groups)
		}
		if id > 0 {
			summary += fmt.Sprintf(" (run %d)", id)
		}
		fmt.Fprintln(f.Out, summary)
		if previous != nil && out.diffLast {
			printDiff(f, *previous, run)
		} else if out.diffLast {
			fmt.Fprintln(f.Out, "No earlier run of this command to compare with.")
		}
	}
	if recErr != nil && !f.JSON {
		fmt.Fprintf(f.Err, "herd: warning: the run was not recorded: %v\n", recErr)
	}
	return ran, nil
}
