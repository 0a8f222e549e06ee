package fleet

import (
	"fmt"
	"testing"
	"time"
)

func TestGroupRound(t *testing.T) {
	rs := []Result{
		{Host: "n1", Output: "a\n"}, {Host: "n2", Output: "a\n"}, {Host: "n3", Output: "a\n"},
		{Host: "n4", Output: "b\n"}, {Host: "n5", Output: "a\n"},
	}
	// n4 changed to b; n5 changed back to a: it is not grouped with
	// the unchanged ones.
	gs := GroupRound(rs, map[string]bool{"n4": true, "n5": true})
	var got []string
	for _, g := range gs {
		got = append(got, fmt.Sprintf("%s %v", Fold(g.Hosts), g.Changed))
	}
	if fmt.Sprint(got) != "[n[1-3] false n4 true n5 true]" {
		t.Errorf("groups %v", got)
	}
	if gs := GroupRound(rs, nil); len(gs) != 2 || gs[0].Changed || len(gs[0].Hosts) != 4 {
		t.Errorf("no change: %+v", gs)
	}
}

func TestWatchTiming(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		took time.Duration
		want time.Duration
	}{
		{2 * time.Second, 10 * time.Second},
		{10 * time.Second, 10 * time.Second},
		{25 * time.Second, 25 * time.Second},
	} {
		if got := NextRound(t0, t0.Add(tc.took), 10*time.Second).Sub(t0); got != tc.want {
			t.Errorf("a round of %v: next after %v, want %v", tc.took, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d  time.Duration
		ok bool
	}{{time.Second, true}, {10 * time.Second, true}, {999 * time.Millisecond, false}, {0, false}, {-time.Second, false}} {
		if err := CheckWatchInterval(tc.d); (err == nil) != tc.ok {
			t.Errorf("interval %v: %v", tc.d, err)
		}
	}
}

func TestChangedHosts(t *testing.T) {
	prev := []Result{{Host: "a", Output: "1\n"}, {Host: "b", Output: "1\n"}, {Host: "c", ExitCode: 1}}
	cur := []Result{{Host: "a", Output: "1\n"}, {Host: "b", Output: "2\n"}, {Host: "c"}, {Host: "d"}}
	got := ChangedHosts(prev, cur)
	if len(got) != 3 || !got["b"] || !got["c"] || !got["d"] {
		t.Errorf("changed %v", got)
	}
	if got := ChangedHosts(nil, cur); len(got) != 4 {
		t.Errorf("no previous run: %v", got)
	}
}
