package historian

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
)

// benchHistorian starts a history writer on a fresh store, alone.
func benchHistorian(b *testing.B) (*actor.ActorSystem, *actor.PID, *history.Store) {
	var wg sync.WaitGroup
	store, err := history.Open(filepath.Join(b.TempDir(), "history"))
	if err != nil {
		b.Fatal(err)
	}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(discard{}, nil))
	}))
	pid := sys.Root.Spawn(NewProps(Env{Go: func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }, Logf: func(string, ...any) {}}, store, 0))
	b.Cleanup(func() {
		sys.Root.StopFuture(pid).Wait()
		wg.Wait()
		store.Close()
	})
	return sys, pid, store
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func stateEvent(i int) history.Event {
	return history.Event{Service: fmt.Sprintf("svc-%04d", i%1000), Kind: history.KindState, State: "running", Time: time.Now()}
}

// BenchmarkHistoryWriter: 1000 senders (as many controllers) each record
// synced state changes and wait for each acknowledgement, as controllers
// do; compared with raw pebble writes of the same records in this run:
// all in one unsynced batch (the ceiling) and one synced write each (what
// a writer without group commit would do).
func BenchmarkHistoryWriter(b *testing.B) {
	const senders, perSender = 1000, 100
	total := senders * perSender
	sys, pid, _ := benchHistorian(b)
	for b.Loop() {
		var wg sync.WaitGroup
		t0 := time.Now()
		for s := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perSender {
					done := make(chan struct{})
					sys.Root.Send(pid, &Record{Events: []history.Event{stateEvent(s*perSender + i)}, Sync: true, Done: done})
					<-done
				}
			}()
		}
		wg.Wait()
		writer := time.Since(t0)

		raw, err := history.Open(filepath.Join(b.TempDir(), "raw"))
		if err != nil {
			b.Fatal(err)
		}
		evs := make([]history.Event, total)
		for i := range evs {
			evs[i] = stateEvent(i)
			evs[i].Seq = uint64(i + 1)
		}
		t0 = time.Now()
		raw.Append(evs, true)
		ceiling := time.Since(t0)
		const naiveN = 500
		t0 = time.Now()
		for i := range naiveN {
			raw.Append(evs[i:i+1], true)
		}
		naive := time.Since(t0) / naiveN * time.Duration(total)
		raw.Close()

		rate := func(d time.Duration) float64 { return float64(total) / d.Seconds() }
		b.ReportMetric(rate(writer), "writer-events/s")
		b.ReportMetric(rate(ceiling), "raw-batch-events/s")
		b.ReportMetric(rate(naive), "raw-synced-each-events/s")
		b.ReportMetric(float64(writer)/float64(ceiling), "writer/raw-batch")
	}
}

// BenchmarkSyncedStateChange: the latency of one synced event through the
// writer when nothing else is going on, against one synced raw write.
func BenchmarkSyncedStateChange(b *testing.B) {
	sys, pid, _ := benchHistorian(b)
	raw, err := history.Open(filepath.Join(b.TempDir(), "raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	var viaWriter, direct []time.Duration
	seq := uint64(0)
	for b.Loop() {
		done := make(chan struct{})
		t0 := time.Now()
		sys.Root.Send(pid, &Record{Events: []history.Event{stateEvent(0)}, Sync: true, Done: done})
		<-done
		viaWriter = append(viaWriter, time.Since(t0))
		seq++
		e := stateEvent(0)
		e.Seq = seq
		t0 = time.Now()
		raw.Append([]history.Event{e}, true)
		direct = append(direct, time.Since(t0))
	}
	slices.Sort(viaWriter)
	slices.Sort(direct)
	w, r := viaWriter[len(viaWriter)/2], direct[len(direct)/2]
	b.ReportMetric(float64(w.Microseconds()), "writer-µs")
	b.ReportMetric(float64(r.Microseconds()), "raw-µs")
	b.ReportMetric(float64(w)/float64(r), "writer/raw")
}
