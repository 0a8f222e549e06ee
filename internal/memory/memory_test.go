package memory

import (
	"runtime"
	"testing"
)

func TestShouldReleaseOnlyAQuietHeapHoldingMuchMoreThanIsLive(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		name      string
		prev, cur heapSample
		want      bool
	}{
		{"quiet after a burst", heapSample{Allocs: 500 * mb}, heapSample{Allocs: 500*mb + 100<<10, Held: 40 * mb, Live: 15 * mb}, true},
		{"still busy", heapSample{Allocs: 500 * mb}, heapSample{Allocs: 520 * mb, Held: 40 * mb, Live: 15 * mb}, false},
		{"little beyond live", heapSample{Allocs: 500 * mb}, heapSample{Allocs: 500 * mb, Held: 22 * mb, Live: 15 * mb}, false},
		{"a small daemon", heapSample{Allocs: 50 * mb}, heapSample{Allocs: 50 * mb, Held: 6 * mb, Live: 2 * mb}, false},
		{"just past the slack", heapSample{}, heapSample{Held: 15*mb + releaseSlack + 1, Live: 15 * mb}, true},
		{"just under quiet", heapSample{}, heapSample{Allocs: quietAllocs - 1, Held: 40 * mb, Live: 15 * mb}, true},
		{"just busy", heapSample{}, heapSample{Allocs: quietAllocs, Held: 40 * mb, Live: 15 * mb}, false},
	} {
		if got := shouldRelease(tc.prev, tc.cur); got != tc.want {
			t.Errorf("%s: shouldRelease = %v, want %v", tc.name, got, tc.want)
		}
	}
}

var sink [][]byte

// A burst leaves garbage behind; the first quiet check returns it.
func TestReleaseStepReturnsWhatABurstLeftBehind(t *testing.T) {
	runtime.GC()
	for range 64 {
		sink = append(sink, make([]byte, 1<<20))
	}
	sink = nil
	runtime.GC() // the burst's garbage is now free heap, not yet returned
	busy := readHeap()
	if busy.Held < busy.Live+releaseSlack {
		t.Fatalf("the burst left only %d bytes held with %d live: the test no longer makes garbage", busy.Held, busy.Live)
	}
	after := releaseStep(busy)
	if after.Held >= after.Live+releaseSlack {
		t.Errorf("after a quiet check the heap holds %d bytes with %d live", after.Held, after.Live)
	}
}
