package historian

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
)

// TestStatsTellLagAndBatches: while a commit hangs, the writer's lag
// grows and its events count as in flight; once it lands, the lag is
// back to zero and the commit and its batch are counted.
func TestStatsTellLagAndBatches(t *testing.T) {
	hang, open, store := hangingStore(t)
	saved := commitStallTimeout
	commitStallTimeout = time.Minute // the commit hangs, not degraded
	t.Cleanup(func() { commitStallTimeout = saved })
	sys := actor.NewActorSystem()
	pid := sys.Root.Spawn(NewProps(testEnv(t), store, 0))
	defer func() { sys.Root.StopFuture(pid).Wait() }()
	stats := func() WriterStats {
		ch := make(chan WriterStats, 1)
		sys.Root.Send(pid, &Stats{Reply: ch})
		return <-ch
	}
	if s := stats(); s.Lag != 0 || s.Commits != 0 || s.Batches.Count != 0 {
		t.Fatalf("stats of an idle writer: %+v", s)
	}
	hang.Store(true)
	done := make(chan struct{})
	evs := []history.Event{{Service: "a", Kind: history.KindState, State: "running"}, {Service: "b", Kind: history.KindState, State: "running"}}
	sys.Root.Send(pid, &Record{Events: evs, Sync: true, Done: done})
	waitFor(t, "a lag of 50ms", func() bool { s := stats(); return s.Lag >= 50*time.Millisecond && s.InFlight == 2 })
	open()
	<-done
	s := stats()
	if s.Lag != 0 || s.InFlight != 0 || s.Commits != 1 || s.Batches.Count != 1 || s.Batches.Sum != 2 || s.CommitTime.Sum < 0.05 {
		t.Fatalf("stats after the commit: %+v", s)
	}
}
