package tally

import (
	"maps"
	"testing"
)

func TestHistogram(t *testing.T) {
	for _, tc := range []struct {
		name string
		obs  []float64
		want map[float64]uint64
		sum  float64
	}{
		{"none", nil, map[float64]uint64{1: 0, 10: 0}, 0},
		{"on a bound", []float64{1}, map[float64]uint64{1: 1, 10: 1}, 1},
		{"between", []float64{0.5, 5}, map[float64]uint64{1: 1, 10: 2}, 5.5},
		{"above the last", []float64{11, 0}, map[float64]uint64{1: 1, 10: 1}, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(1, 10)
			for _, v := range tc.obs {
				h.Observe(v)
			}
			if got := h.Cumulative(); !maps.Equal(got, tc.want) {
				t.Errorf("buckets %v, want %v", got, tc.want)
			}
			if h.Count != uint64(len(tc.obs)) || h.Sum != tc.sum {
				t.Errorf("count %d sum %v, want %d %v", h.Count, h.Sum, len(tc.obs), tc.sum)
			}
		})
	}
}

func TestCloneSharesNothing(t *testing.T) {
	h := New(1)
	c := h.Clone()
	h.Observe(0)
	if c.Counts[0] != 0 || c.Count != 0 {
		t.Fatalf("the copy moved with the original: %+v", c)
	}
}
