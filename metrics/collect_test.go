package metrics

import (
	"fmt"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/actors/registry"
	"github.com/shepherd-go/shepherd/internal/cgroup"
	"github.com/shepherd-go/shepherd/internal/tally"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// bigView is a scrape's view of n running services, each started once
// and restarted once, in cgroups.
func bigView(n int) *view {
	v := &view{tallies: NewTallies(), usage: map[string]cgroup.Stats{}, writer: &historian.WriterStats{Batches: tally.New(tally.Sizes...), CommitTime: tally.New(tally.Durations...)}}
	for i := range n {
		name := fmt.Sprintf("svc-%04d", i)
		v.services = append(v.services, registry.Described{Name: name, State: wire.StateRunning, Enabled: true, Command: true})
		t := v.tallies.service(name)
		t.Restarts = 1
		t.LastStart = 3 * time.Millisecond
		t.Starts.Observe(0.003)
		t.LastExit = &Exit{Signal: 9, At: time.Now()}
		v.usage[name] = cgroup.Stats{CPU: time.Millisecond, CPUKnown: true, Memory: 1 << 20, MemoryKnown: true}
	}
	return v
}

// BenchmarkEncode1000 is the part of a scrape of 1000 services after the
// gathering: the text of every series.
func BenchmarkEncode1000(b *testing.B) {
	v := bigView(1000)
	for b.Loop() {
		w := textWriter{b: make([]byte, 0, 2<<20)}
		w.write(*v, true)
	}
}
