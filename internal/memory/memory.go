package memory

import (
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// A supervisor is quiet nearly all its life and busy in bursts: a boot, a
// reload, a fleet start. The garbage collector sizes the heap for the
// burst (twice what is live) and the runtime gives the rest back to the
// kernel only slowly and never below that size, so a daemon that started
// 1000 services went on holding 25 MB it had no use for. Once a burst is
// over, ReleaseIdle collects and returns it at once.
const (
	memoryCheckEvery = time.Second
	// quietAllocs is how little a daemon allocates in memoryCheckEvery
	// when nothing happens (status calls, pings).
	quietAllocs = 1 << 20
	// releaseSlack is how much heap beyond what is live is worth a
	// collection to return; small daemons never get there.
	releaseSlack = 8 << 20
)

// heapSample is what the runtime says of its heap at one check.
type heapSample struct {
	Allocs uint64 // bytes allocated since the start
	Held   uint64 // heap bytes not returned to the kernel: objects and free spans
	Live   uint64 // bytes live at the last collection
}

// shouldRelease decides, from two consecutive samples, whether the heap
// holds enough that a burst left behind, now that allocation is quiet.
func shouldRelease(prev, cur heapSample) bool {
	quiet := cur.Allocs-prev.Allocs < quietAllocs
	return quiet && cur.Held > cur.Live+releaseSlack
}

var heapMetrics = []string{
	"/gc/heap/allocs:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes",
	"/gc/heap/live:bytes",
}

func readHeap() heapSample {
	s := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	return heapSample{
		Allocs: s[0].Value.Uint64(),
		Held:   s[1].Value.Uint64() + s[2].Value.Uint64(),
		Live:   s[3].Value.Uint64(),
	}
}

// ReleaseIdle checks the heap every memoryCheckEvery until stop is
// closed, and returns it to the kernel after a burst.
func ReleaseIdle(stop <-chan struct{}) {
	t := time.NewTicker(memoryCheckEvery)
	defer t.Stop()
	prev := readHeap()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		prev = releaseStep(prev)
	}
}

// releaseStep is one check: it releases the heap if shouldRelease says so
// and returns the sample to compare the next one with.
func releaseStep(prev heapSample) heapSample {
	cur := readHeap()
	if !shouldRelease(prev, cur) {
		return cur
	}
	debug.FreeOSMemory()
	return readHeap()
}
