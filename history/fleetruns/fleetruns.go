package fleetruns

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Kind is the history record kind of a fleet run.
const Kind = "fleet-run"

// Key is the store key of fleet run id: zero-padded, so that the store's
// order is the runs' order.
func Key(id int) string { return fmt.Sprintf("%012d", id) }

// Book serves fleet-record, fleet-runs and fleet-run from a store. Put
// writes a record through the daemon's only history writer and returns
// once it is durable.
type Book struct {
	Store *history.Store
	Put   func(history.Record) error
	// Record, if set, adds an event to the history (not waiting): each
	// run's, for notifications of runs with failures.
	Record func(history.Event)
	mu     sync.Mutex // numbers runs one at a time
}

// Serve answers one of the three requests.
func (b *Book) Serve(req wire.Request) wire.Reply {
	fail := func(err error) wire.Reply { return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)) }
	switch req.Action {
	case "fleet-record":
		var run wire.FleetRun
		if len(req.Args) != 1 || json.Unmarshal([]byte(req.Args[0]), &run) != nil {
			return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "fleet-record: malformed run"))
		}
		// One at a time: the number is the last one's plus one, and
		// the last one is in the store once Put returns.
		b.mu.Lock()
		defer b.mu.Unlock()
		var last wire.FleetRun
		raw, err := b.Store.LastRecord(Kind)
		if err != nil {
			return fail(err)
		}
		if raw != nil {
			json.Unmarshal(raw, &last)
		}
		run.ID = last.ID + 1
		if run.Time.IsZero() {
			run.Time = time.Now()
		}
		raw, _ = json.Marshal(run)
		if err := b.Put(history.Record{Kind: Kind, Key: Key(run.ID), Value: raw}); err != nil {
			return fail(err)
		}
		if b.Record != nil {
			b.Record(RunEvent(run))
			if ev, ok := ChangeEvent(run); ok {
				b.Record(ev)
			}
		}
		return wire.OKReply(req.ID, wire.FleetRun{ID: run.ID})
	case "fleet-runs":
		recs, err := b.Store.Records(Kind)
		if err != nil {
			return fail(err)
		}
		out := wire.FleetRuns{Runs: []wire.FleetRun{}}
		for _, raw := range recs {
			var r wire.FleetRun
			if json.Unmarshal(raw, &r) == nil {
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
		raw, err := b.Store.Record(Kind, Key(id))
		if err != nil {
			return fail(err)
		}
		var run wire.FleetRun
		if raw == nil || json.Unmarshal(raw, &run) != nil {
			return notFound
		}
		return wire.OKReply(req.ID, run)
	}
}

// maxEventCommand bounds the command line an event carries: a run's
// command is the operator's, but may be long.
const maxEventCommand = 32

// RunEvent is the history event of a recorded run: failed when a host
// did not answer 0 (whatever the reason), else ok.
func RunEvent(run wire.FleetRun) history.Event {
	result := "ok"
	for _, r := range run.Results {
		if r.ExitCode != 0 || r.Kind != "" {
			result = "failed"
			break
		}
	}
	msg := fmt.Sprintf("fleet run #%d: %s", run.ID, run.Summary)
	if run.Selector != "" {
		msg += " (" + run.Selector + ")"
	}
	return history.Event{Time: run.Time, Kind: history.KindFleetRun, Command: run.Command[:min(len(run.Command), maxEventCommand)], Result: result, Message: msg}
}

// maxEventHosts bounds the hosts a change event names.
const maxEventHosts = 10

// ChangeEvent is the history event of a watch round in which hosts'
// answers changed (result changed, which alerting classes
// fleet-changed); ok is false for any other run.
func ChangeEvent(run wire.FleetRun) (history.Event, bool) {
	if !run.Watch || len(run.Changed) == 0 {
		return history.Event{}, false
	}
	names := strings.Join(run.Changed[:min(len(run.Changed), maxEventHosts)], ", ")
	if n := len(run.Changed) - maxEventHosts; n > 0 {
		names += fmt.Sprintf(" and %d more", n)
	}
	noun := "hosts"
	if len(run.Changed) == 1 {
		noun = "host"
	}
	msg := fmt.Sprintf("fleet watch round (run #%d): %d %s changed: %s", run.ID, len(run.Changed), noun, names)
	if run.Selector != "" {
		msg += " (" + run.Selector + ")"
	}
	return history.Event{Time: run.Time, Kind: history.KindFleetRun, Command: run.Command[:min(len(run.Command), maxEventCommand)], Result: "changed", Message: msg}, true
}
