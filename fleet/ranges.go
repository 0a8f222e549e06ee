package fleet

import (
	"fmt"
	"strconv"
	"strings"
)

// maxExpand bounds what one pattern may name: web[1-1000000000] is a
// typo, not a fleet.
const maxExpand = 100000

// ExpandHosts expands host names as clush writes them: a comma-separated
// list whose names may hold ranges in brackets, web[01-12] (zero padding
// kept: web01..web12), db[1-3,7], and several per name (r[1-2]n[1-2]).
// A name without brackets is itself. Order: as written, ranges in order.
func ExpandHosts(pattern string) ([]string, error) {
	var out []string
	for _, part := range splitOutsideBrackets(pattern) {
		if part == "" {
			return nil, fmt.Errorf("%q: an empty name", pattern)
		}
		names, err := expandOne(part)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", pattern, err)
		}
		out = append(out, names...)
		if len(out) > maxExpand {
			return nil, fmt.Errorf("%q: more than %d hosts", pattern, maxExpand)
		}
	}
	return out, nil
}

// splitOutsideBrackets splits s on commas that are not inside [...].
func splitOutsideBrackets(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// expandOne expands the first bracket of name, then the rest, recursively.
func expandOne(name string) ([]string, error) {
	open := strings.IndexByte(name, '[')
	close := strings.IndexByte(name, ']')
	switch {
	case open < 0 && close < 0:
		return []string{name}, nil
	case open < 0 || close < open:
		return nil, fmt.Errorf("unbalanced brackets")
	}
	prefix, body, rest := name[:open], name[open+1:close], name[close+1:]
	if strings.ContainsRune(body, '[') {
		return nil, fmt.Errorf("nested brackets")
	}
	tails, err := expandOne(rest)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, item := range strings.Split(body, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		if !isRange {
			hi = lo
		}
		if !digits(lo) || !digits(hi) {
			return nil, fmt.Errorf("[%s]: expected numbers and ranges such as [01-12] or [1-3,7]", body)
		}
		a, _ := strconv.Atoi(lo)
		b, _ := strconv.Atoi(hi)
		if b < a {
			return nil, fmt.Errorf("[%s]: %s-%s goes backwards", body, lo, hi)
		}
		if b-a > maxExpand {
			return nil, fmt.Errorf("[%s]: more than %d hosts", body, maxExpand)
		}
		width := 0
		if len(lo) > 1 && lo[0] == '0' {
			width = len(lo) // zero-padded: keep the width
		}
		for n := a; n <= b; n++ {
			num := fmt.Sprintf("%0*d", width, n)
			for _, t := range tails {
				out = append(out, prefix+num+t)
			}
			if len(out) > maxExpand {
				return nil, fmt.Errorf("more than %d hosts", maxExpand)
			}
		}
	}
	return out, nil
}

func digits(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
