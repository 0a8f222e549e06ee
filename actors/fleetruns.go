package actors

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Fleet runs (herd fleet exec) are kept in the history store as records,
// keyed by their number, so `herd fleet history/show/diff` can compare
// today's answers with yesterday's. herd runs the commands; the daemon
// only keeps what herd reports.
const fleetRunKind = "fleet-run"

// fleetRuns serves fleet-record, fleet-runs and fleet-run.
func (d *Daemon) fleetRuns(req wire.Request) wire.Reply {
	d.fleetMu.Lock()
	defer d.fleetMu.Unlock()
	runs, err := d.loadFleetRuns()
	if err != nil {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err))
	}
	switch req.Action {
	case "fleet-record":
		var run wire.FleetRun
		if len(req.Args) != 1 || json.Unmarshal([]byte(req.Args[0]), &run) != nil {
			return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "fleet-record: malformed run"))
		}
		run.ID = 1
		if len(runs) > 0 {
			run.ID = runs[len(runs)-1].ID + 1
		}
		if run.Time.IsZero() {
			run.Time = time.Now()
		}
		b, _ := json.Marshal(run)
		if err := d.history.PutRecord(fleetRunKind, fmt.Sprintf("%012d", run.ID), b); err != nil {
			return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err))
		}
		return wire.OKReply(req.ID, wire.FleetRun{ID: run.ID})
	case "fleet-runs":
		out := wire.FleetRuns{Runs: []wire.FleetRun{}}
		for _, r := range runs {
			r.Results = nil
			out.Runs = append(out.Runs, r)
		}
		return wire.OKReply(req.ID, out)
	default: // fleet-run ID
		id := -1
		if len(req.Args) == 1 {
			id, _ = strconv.Atoi(req.Args[0])
		}
		for _, r := range runs {
			if r.ID == id {
				return wire.OKReply(req.ID, r)
			}
		}
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "no fleet run %s (herd fleet history lists them)", req.Args))
	}
}

func (d *Daemon) loadFleetRuns() ([]wire.FleetRun, error) {
	recs, err := d.history.Records(fleetRunKind)
	if err != nil {
		return nil, err
	}
	runs := make([]wire.FleetRun, 0, len(recs))
	for _, b := range recs {
		var r wire.FleetRun
		if json.Unmarshal(b, &r) == nil {
			runs = append(runs, r)
		}
	}
	return runs, nil
}
