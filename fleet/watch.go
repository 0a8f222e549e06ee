package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// MinWatchInterval is the shortest interval of herd fleet watch: a round
// reaches every host, and hosts are not to be polled in a busy loop.
const MinWatchInterval = time.Second

// CheckWatchInterval refuses an interval below MinWatchInterval.
func CheckWatchInterval(d time.Duration) error {
	if d < MinWatchInterval {
		return fmt.Errorf("--interval %v: the shortest is %v (a round reaches every host)", d, MinWatchInterval)
	}
	return nil
}

// WatchGroup is hosts that answered the same in a round, and whether
// their answer changed since the round before.
type WatchGroup struct {
	Group
	Changed bool `json:"changed"`
}

// GroupRound groups a round's results as GroupResults does, but never
// puts a host whose answer changed (changed[host]) with one whose answer
// did not: the changed ones are marked. Largest group first.
func GroupRound(rs []Result, changed map[string]bool) []WatchGroup {
	var same, moved []Result
	for _, r := range rs {
		if changed[r.Host] {
			moved = append(moved, r)
		} else {
			same = append(same, r)
		}
	}
	var out []WatchGroup
	for _, g := range GroupResults(same) {
		out = append(out, WatchGroup{Group: g})
	}
	for _, g := range GroupResults(moved) {
		out = append(out, WatchGroup{Group: g, Changed: true})
	}
	slices.SortStableFunc(out, func(a, b WatchGroup) int {
		return cmp.Or(cmp.Compare(len(b.Hosts), len(a.Hosts)), cmp.Compare(Fold(a.Hosts), Fold(b.Hosts)))
	})
	return out
}

// NextRound is when the round after one that started at start begins:
// an interval after its start, or now if that has passed (a round slower
// than the interval is followed at once, never by a burst of catch-ups).
func NextRound(start, now time.Time, interval time.Duration) time.Time {
	next := start.Add(interval)
	if next.Before(now) {
		return now
	}
	return next
}

// ChangedHosts says which hosts answered differently in cur than in prev (the
// same command's previous round or run): output, exit or error. A host
// absent from prev has changed; nil prev (no earlier run): every host.
func ChangedHosts(prev, cur []Result) map[string]bool {
	before := map[string]Result{}
	for _, r := range prev {
		before[r.Host] = r
	}
	out := map[string]bool{}
	for _, r := range cur {
		p, ok := before[r.Host]
		if !ok || p.Output != r.Output || p.ExitCode != r.ExitCode || p.Err != r.Err {
			out[r.Host] = true
		}
	}
	return out
}
