package daemon

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/metrics"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Fleet runs (herd fleet exec) are kept in the history store as records,
// keyed by their number, so `herd fleet history/show/diff` can compare
// today's answers with yesterday's. herd runs the commands; the daemon
// only keeps what herd reports (and the metrics count, from the store),
// as records of kind metrics.FleetRunKind.

// fleetRuns serves fleet-record, fleet-runs and fleet-run.
func (d *Daemon) fleetRuns(req wire.Request) wire.Reply {
	fail := func(err error) wire.Reply { return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)) }
	switch req.Action {
	case "fleet-record":
		var run wire.FleetRun
		if len(req.Args) != 1 || json.Unmarshal([]byte(req.Args[0]), &run) != nil {
			return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "fleet-record: malformed run"))
		}
		// One at a time: the number is the last one's plus one, and
		// the last one is in the store once putRecord returns.
		d.fleetMu.Lock()
		defer d.fleetMu.Unlock()
		var last wire.FleetRun
		b, err := d.history.LastRecord(metrics.FleetRunKind)
		if err != nil {
			return fail(err)
		}
		if b != nil {
			json.Unmarshal(b, &last)
		}
		run.ID = last.ID + 1
		if run.Time.IsZero() {
			run.Time = time.Now()
		}
		b, _ = json.Marshal(run)
		if err := d.putRecord(history.Record{Kind: metrics.FleetRunKind, Key: metrics.FleetRunKey(run.ID), Value: b}); err != nil {
			return fail(err)
		}
		return wire.OKReply(req.ID, wire.FleetRun{ID: run.ID})
	case "fleet-runs":
		recs, err := d.history.Records(metrics.FleetRunKind)
		if err != nil {
			return fail(err)
		}
		out := wire.FleetRuns{Runs: []wire.FleetRun{}}
		for _, b := range recs {
			var r wire.FleetRun
			if json.Unmarshal(b, &r) == nil {
				r.Results = nil
				out.Runs = append(out.Runs, r)
			}
		}
		return wire.OKReply(req.ID, out)
	default: // fleet-run ID
		notFound := wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "no fleet run %s (herd fleet history lists them)", req.Args))
		if len(req.Args) != 1 {
			return notFound
		}
		id, err := strconv.Atoi(req.Args[0])
		if err != nil || id < 1 {
			return notFound
		}
		b, err := d.history.Record(metrics.FleetRunKind, metrics.FleetRunKey(id))
		if err != nil {
			return fail(err)
		}
		var run wire.FleetRun
		if b == nil || json.Unmarshal(b, &run) != nil {
			return notFound
		}
		return wire.OKReply(req.ID, run)
	}
}
