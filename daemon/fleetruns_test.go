package daemon

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestFleetRunsNumberedOnceDurable: fleet runs recorded at once are
// numbered 1..N, each once: the history writer (the store's only writer)
// has made a run durable before the next one reads the last number.
func TestFleetRunsNumberedOnceDurable(t *testing.T) {
	d, _ := startDaemon(t, "services: []\n")
	const n = 8
	ids := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _ := json.Marshal(wire.FleetRun{Command: []string{"uptime"}})
			var run wire.FleetRun
			if err := call(t, d, wire.Request{Action: "fleet-record", Args: []string{string(b)}}, &run); err != nil {
				t.Errorf("fleet-record: %v", err)
			}
			ids[i] = run.ID
		}()
	}
	wg.Wait()
	slices.Sort(ids)
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(ids, want) {
		t.Fatalf("run numbers %v, want %v", ids, want)
	}
	var runs wire.FleetRuns
	if err := call(t, d, wire.Request{Action: "fleet-runs"}, &runs); err != nil || len(runs.Runs) != n {
		t.Fatalf("fleet-runs: %d runs, %v", len(runs.Runs), err)
	}
}
