package fleet

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Selector picks hosts: every condition must hold. No condition: every
// host.
type Selector struct {
	// Groups (-g): in every one of these groups; !GROUP: not in it.
	Groups []string
	// Tags (-t): each a comma-separated list of conditions, all of
	// which must hold: KEY=VALUE, a flat tag NAME (or a KEY=VALUE tag
	// whose key is NAME), and either negated with a leading !.
	Tags []string
	// Hosts (-H): one of these names; each may be a clush pattern,
	// web[01-12],db[1-3,7].
	Hosts []string
	// Exclude (-x): none of these names (patterns too).
	Exclude []string
}

// Empty reports a selector with no condition.
func (s Selector) Empty() bool {
	return len(s.Groups)+len(s.Tags)+len(s.Hosts)+len(s.Exclude) == 0
}

// tagTerms splits the -t values into their conditions.
func (s Selector) tagTerms() []string {
	var out []string
	for _, t := range s.Tags {
		for _, term := range strings.Split(t, ",") {
			if term = strings.TrimSpace(term); term != "" {
				out = append(out, term)
			}
		}
	}
	return out
}

// Check reports a malformed condition, or one that names what the
// inventory does not have: an unknown host, group or tag (a typo there
// would otherwise select nothing, or with !, everything).
func (s Selector) Check(inv *Inventory) error {
	names := map[string]bool{}
	groups := map[string]bool{}
	tags := map[string]bool{} // KEY=VALUE, KEY and NAME
	for _, h := range inv.Hosts {
		names[h.Name] = true
		for _, g := range h.Groups {
			groups[g] = true
		}
		for k, v := range h.Tags {
			groups[v] = true
			tags[k+"="+v] = true
			tags[k] = true
		}
		for _, l := range h.Labels {
			tags[l] = true
		}
	}
	for _, g := range s.Groups {
		name := strings.TrimPrefix(g, "!")
		if name == "" {
			return fmt.Errorf("-g %q: expected a group name, or !GROUP", g)
		}
		if !groups[name] {
			return fmt.Errorf("-g %s: no host of %s is in group %s (groups: %s)", g, inv.File, name, known(groups))
		}
	}
	for _, t := range s.tagTerms() {
		term := strings.TrimPrefix(t, "!")
		k, _, kv := strings.Cut(term, "=")
		if k == "" || strings.HasPrefix(term, "!") {
			return fmt.Errorf("-t %q: expected KEY=VALUE or a tag NAME, either after one '!' to negate it", t)
		}
		if !tags[term] {
			what := "tag"
			if !kv {
				what = "tag or tag key"
			}
			return fmt.Errorf("-t %s: no host of %s has the %s %s (tags: %s)", t, inv.File, what, term, known(tags))
		}
	}
	for _, flag := range []struct {
		name     string
		patterns []string
	}{{"-H", s.Hosts}, {"-x", s.Exclude}} {
		for _, p := range flag.patterns {
			hs, err := ExpandHosts(p)
			if err != nil {
				return fmt.Errorf("%s %w", flag.name, err)
			}
			for _, n := range hs {
				if !names[n] {
					return fmt.Errorf("%s %s: no such host in %s", flag.name, n, inv.File)
				}
			}
		}
	}
	return nil
}

// known lists a set's names for an error, sorted and bounded.
func known(set map[string]bool) string {
	var names []string
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "none"
	}
	if len(names) > 20 {
		names = append(names[:20], "...")
	}
	return strings.Join(names, ", ")
}

// Select returns the hosts that match, in inventory order. Malformed
// patterns select nothing (Check reports them).
func (s Selector) Select(inv *Inventory) []*Host {
	expand := func(patterns []string) map[string]bool {
		set := map[string]bool{}
		for _, p := range patterns {
			hs, _ := ExpandHosts(p)
			for _, n := range hs {
				set[n] = true
			}
		}
		return set
	}
	only, exclude := expand(s.Hosts), expand(s.Exclude)
	terms := s.tagTerms()
	var out []*Host
	for _, h := range inv.Hosts {
		if len(s.Hosts) > 0 && !only[h.Name] || exclude[h.Name] {
			continue
		}
		if s.matches(h, terms) {
			out = append(out, h)
		}
	}
	return out
}

func (s Selector) matches(h *Host, terms []string) bool {
	for _, g := range s.Groups {
		name, neg := strings.CutPrefix(g, "!")
		if h.InGroup(name) == neg {
			return false
		}
	}
	for _, t := range terms {
		term, neg := strings.CutPrefix(t, "!")
		if h.HasTag(term) == neg {
			return false
		}
	}
	return true
}

// HasTag says whether the host has tag t: KEY=VALUE, or NAME, a flat tag
// or the key of one of its KEY=VALUE tags.
func (h *Host) HasTag(t string) bool {
	if k, v, ok := strings.Cut(t, "="); ok {
		val, has := h.Tags[k]
		return has && val == v
	}
	if _, ok := h.Tags[t]; ok {
		return true
	}
	return slices.Contains(h.Labels, t)
}

// TagCount is how many hosts have one tag.
type TagCount struct {
	Tag   string `json:"tag"`
	Hosts int    `json:"hosts"`
}

// CountTags counts the hosts that have each tag, KEY=VALUE and flat ones,
// most common first (then by name).
func CountTags(hosts []*Host) []TagCount {
	counts := map[string]int{}
	for _, h := range hosts {
		for k, v := range h.Tags {
			counts[k+"="+v]++
		}
		for _, l := range slices.Compact(slices.Sorted(slices.Values(h.Labels))) {
			counts[l]++
		}
	}
	out := make([]TagCount, 0, len(counts))
	for t, n := range counts {
		out = append(out, TagCount{t, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Hosts != out[j].Hosts {
			return out[i].Hosts > out[j].Hosts
		}
		return out[i].Tag < out[j].Tag
	})
	return out
}

// String writes the selector as herd's flags ("" for every host).
func (s Selector) String() string {
	var parts []string
	for _, g := range s.Groups {
		parts = append(parts, "-g "+g)
	}
	for _, t := range s.Tags {
		parts = append(parts, "-t "+t)
	}
	for _, h := range s.Hosts {
		parts = append(parts, "-H "+h)
	}
	for _, h := range s.Exclude {
		parts = append(parts, "-x "+h)
	}
	return strings.Join(parts, " ")
}
