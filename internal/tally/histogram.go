package tally

import "slices"

// Histogram counts observations into buckets with fixed upper bounds, as
// a Prometheus histogram does: Counts[i] counts the observations <=
// Bounds[i] (not cumulative here; Cumulative makes them so), and Count
// and Sum cover every observation, those above the last bound included.
// The zero value has no buckets and still counts and sums.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Count  uint64
	Sum    float64
}

// New returns a histogram with the given upper bounds, which must be
// sorted and distinct.
func New(bounds ...float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds))}
}

// Observe adds one observation.
func (h *Histogram) Observe(v float64) {
	h.Count++
	h.Sum += v
	if i, _ := slices.BinarySearch(h.Bounds, v); i < len(h.Bounds) {
		h.Counts[i]++
	}
}

// Clone returns a copy that shares nothing with h, to hand to another
// goroutine.
func (h Histogram) Clone() Histogram {
	h.Counts = slices.Clone(h.Counts)
	return h
}

// Cumulative returns, for each upper bound, how many observations were
// at most it: a Prometheus histogram's buckets.
func (h Histogram) Cumulative() map[float64]uint64 {
	out := make(map[float64]uint64, len(h.Bounds))
	var n uint64
	for i, b := range h.Bounds {
		n += h.Counts[i]
		out[b] = n
	}
	return out
}

// Durations are the bounds, in seconds, of the histograms of durations
// (a start, a commit, a fleet run): from a millisecond to five minutes.
var Durations = []float64{.001, .005, .025, .1, .5, 2.5, 10, 60, 300}

// Sizes are the bounds of histograms of batch sizes.
var Sizes = []float64{1, 4, 16, 64, 256, 1024, 4096}
