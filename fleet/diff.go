package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// Change is how a set of hosts answered differently in two runs.
type Change struct {
	Hosts []string `json:"hosts"`
	// From and To are how the hosts ended: "ok", "exit 3",
	// "unreachable: ...", "absent".
	From string `json:"from"`
	To   string `json:"to"`
	// Diff is a unified diff of the hosts' output from the first run to
	// the second (its hunks, from "@@": no file header lines); "" when
	// the output is the same and only the ending changed.
	Diff string `json:"diff"`
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
		c.Diff = unifiedDiff(x.Output, y.Output)
		key := c.From + "\x00" + c.To + "\x00" + c.Diff
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

// unifiedDiff is the unified diff of two outputs, hunks only, three
// lines of context (order matters: moved lines are a change).
func unifiedDiff(a, b string) string {
	if a == b {
		return ""
	}
	text, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: diffLines(a), B: diffLines(b), Context: 3,
	})
	return text
}

// diffLines splits output into lines that each end in a newline (one is
// added to an unterminated last line).
func diffLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	} else {
		lines[len(lines)-1] += "\n"
	}
	return lines
}
