package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Change is how a set of hosts answered differently in two runs.
type Change struct {
	Hosts []string `json:"hosts"`
	// From and To are how the hosts ended: "ok", "exit 3",
	// "unreachable: ...", "absent".
	From    string   `json:"from"`
	To      string   `json:"to"`
	Removed []string `json:"removed"` // output lines only in the first run
	Added   []string `json:"added"`   // output lines only in the second run
}

// Diff compares two runs host by host; hosts that changed the same way
// are one Change, largest first. It also returns how many hosts answered
// the same in both.
func Diff(a, b []Result) (changes []Change, same int) {
	before := map[string]Result{}
	for _, r := range a {
		before[r.Host] = r
	}
	after := map[string]Result{}
	var hosts []string
	for _, r := range b {
		after[r.Host] = r
		hosts = append(hosts, r.Host)
	}
	for _, r := range a {
		if _, ok := after[r.Host]; !ok {
			hosts = append(hosts, r.Host)
		}
	}
	index := map[string]int{}
	for _, h := range hosts {
		x, inA := before[h]
		y, inB := after[h]
		if inA && inB && x.Output == y.Output && x.ExitCode == y.ExitCode && x.Err == y.Err {
			same++
			continue
		}
		c := Change{From: describe(x, inA), To: describe(y, inB)}
		c.Removed, c.Added = lineDiff(x.Output, y.Output)
		key := fmt.Sprintf("%s\x00%s\x00%q\x00%q", c.From, c.To, c.Removed, c.Added)
		i, ok := index[key]
		if !ok {
			i = len(changes)
			index[key] = i
			changes = append(changes, c)
		}
		changes[i].Hosts = append(changes[i].Hosts, h)
	}
	slices.SortStableFunc(changes, func(x, y Change) int {
		return cmp.Or(cmp.Compare(len(y.Hosts), len(x.Hosts)), cmp.Compare(Fold(x.Hosts), Fold(y.Hosts)))
	})
	return changes, same
}

func describe(r Result, present bool) string {
	switch {
	case !present:
		return "absent"
	case r.Err != "":
		return r.Kind
	case r.ExitCode != 0:
		return fmt.Sprintf("exit %d", r.ExitCode)
	}
	return "ok"
}

// lineDiff returns the lines of a not in b and of b not in a, in order
// (a multiset difference: enough to see what a host says differently).
func lineDiff(a, b string) (removed, added []string) {
	la, lb := splitOutput(a), splitOutput(b)
	count := map[string]int{}
	for _, l := range lb {
		count[l]++
	}
	for _, l := range la {
		if count[l] > 0 {
			count[l]--
			continue
		}
		removed = append(removed, l)
	}
	count = map[string]int{}
	for _, l := range la {
		count[l]++
	}
	for _, l := range lb {
		if count[l] > 0 {
			count[l]--
			continue
		}
		added = append(added, l)
	}
	return removed, added
}

func splitOutput(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
