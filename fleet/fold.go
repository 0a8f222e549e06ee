package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Fold names a set of hosts compactly, as clush -b and dshbak -c do:
// web1 web2 web3 web5 db1 -> "db1,web[1-3,5]". Numbers keep their width
// (node01..node03 -> node[01-03]).
func Fold(names []string) string {
	type numbered struct {
		n     int
		digit string
	}
	byPrefix := map[string][]numbered{}
	var plain []string
	for _, name := range names {
		i := len(name)
		for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
			i--
		}
		if i == len(name) || i == 0 {
			plain = append(plain, name)
			continue
		}
		n, _ := strconv.Atoi(name[i:])
		byPrefix[name[:i]] = append(byPrefix[name[:i]], numbered{n, name[i:]})
	}
	var parts []string
	parts = append(parts, plain...)
	for prefix, nums := range byPrefix {
		slices.SortFunc(nums, func(a, b numbered) int { return cmp.Or(cmp.Compare(a.n, b.n), cmp.Compare(a.digit, b.digit)) })
		nums = slices.CompactFunc(nums, func(a, b numbered) bool { return a.digit == b.digit })
		if len(nums) == 1 {
			parts = append(parts, prefix+nums[0].digit)
			continue
		}
		var ranges []string
		for i := 0; i < len(nums); {
			j := i
			for j+1 < len(nums) && nums[j+1].n == nums[j].n+1 && sameWidth(nums[j].digit, nums[j+1].digit) {
				j++
			}
			if j == i {
				ranges = append(ranges, nums[i].digit)
			} else {
				ranges = append(ranges, nums[i].digit+"-"+nums[j].digit)
			}
			i = j + 1
		}
		parts = append(parts, prefix+"["+strings.Join(ranges, ",")+"]")
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// sameWidth says whether two numbers may share a range: unpadded ones
// always (9, 10), zero-padded ones when as wide (08, 09, but not 09, 100).
func sameWidth(a, b string) bool {
	padded := func(s string) bool { return len(s) > 1 && s[0] == '0' }
	if !padded(a) && !padded(b) {
		return true
	}
	return len(a) == len(b)
}

// Result is how a command ended on one host.
// Its JSON keys are those of wire.FleetHostResult (herd fleet exec --json).
type Result struct {
	Host     string  `json:"host"`
	Output   string  `json:"output"`
	ExitCode int     `json:"exit_code"`       // -1: killed, timed out, or never ran
	Err      string  `json:"error,omitempty"` // set: the host could not run it (unreachable, refused)
	Kind     string  `json:"kind,omitempty"`  // the error kind: unreachable, permission-denied, timeout...
	Duration float64 `json:"duration"`        // seconds
	// Bytes is how much of a file fleet push sent to the host, or fleet
	// pull received from it (0 for an unchanged file, and for exec).
	Bytes int64 `json:"bytes,omitempty"`
}

// Status is ok, failed (ran, non-zero) or the error kind.
func (r Result) Status() string {
	switch {
	case r.Err != "":
		return r.Kind
	case r.ExitCode != 0:
		return "failed"
	}
	return "ok"
}

// Group is the hosts that answered the same.
type Group struct {
	Hosts    []string `json:"hosts"`
	Output   string   `json:"output"`
	ExitCode int      `json:"exit_code"`
	Err      string   `json:"error,omitempty"`
}

// GroupResults puts hosts whose output, exit code and error are identical
// together, largest group first (then by folded name).
func GroupResults(rs []Result) []Group {
	type key struct {
		out, err string
		code     int
	}
	idx := map[key]int{}
	var gs []Group
	for _, r := range rs {
		k := key{r.Output, r.Err, r.ExitCode}
		i, ok := idx[k]
		if !ok {
			i = len(gs)
			idx[k] = i
			gs = append(gs, Group{Output: r.Output, ExitCode: r.ExitCode, Err: r.Err})
		}
		gs[i].Hosts = append(gs[i].Hosts, r.Host)
	}
	slices.SortStableFunc(gs, func(a, b Group) int {
		return cmp.Or(cmp.Compare(len(b.Hosts), len(a.Hosts)), cmp.Compare(Fold(a.Hosts), Fold(b.Hosts)))
	})
	return gs
}

// Summary is the closing line: "12 ok, 1 failed, 1 unreachable".
func Summary(rs []Result) string {
	counts := map[string]int{}
	order := []string{"ok", "failed"}
	for _, r := range rs {
		s := r.Status()
		if counts[s] == 0 && !slices.Contains(order, s) {
			order = append(order, s)
		}
		counts[s]++
	}
	var parts []string
	for _, k := range order {
		if counts[k] > 0 || k == "ok" {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	return strings.Join(parts, ", ")
}
