package fleet

import (
	"fmt"
	"slices"
	"strings"
)

// Selector picks hosts: every condition must hold. No condition: every
// host.
type Selector struct {
	Groups []string // -g: in every one of these groups
	Tags   []string // -t KEY=VALUE, or !KEY=VALUE for hosts without it
	Hosts  []string // -H: one of these names
}

// Empty reports a selector with no condition.
func (s Selector) Empty() bool { return len(s.Groups)+len(s.Tags)+len(s.Hosts) == 0 }

// Check reports a malformed tag condition or an unknown host name.
func (s Selector) Check(inv *Inventory) error {
	for _, t := range s.Tags {
		if k, _, ok := strings.Cut(strings.TrimPrefix(t, "!"), "="); !ok || k == "" {
			return fmt.Errorf("-t %q: expected KEY=VALUE or !KEY=VALUE", t)
		}
	}
	for _, n := range s.Hosts {
		if !slices.ContainsFunc(inv.Hosts, func(h *Host) bool { return h.Name == n }) {
			return fmt.Errorf("-H %s: no such host in %s", n, inv.File)
		}
	}
	return nil
}

// Select returns the hosts that match, in inventory order.
func (s Selector) Select(inv *Inventory) []*Host {
	var out []*Host
	for _, h := range inv.Hosts {
		if s.matches(h) {
			out = append(out, h)
		}
	}
	return out
}

func (s Selector) matches(h *Host) bool {
	if len(s.Hosts) > 0 && !slices.Contains(s.Hosts, h.Name) {
		return false
	}
	for _, g := range s.Groups {
		if !h.InGroup(g) {
			return false
		}
	}
	for _, t := range s.Tags {
		neg := strings.HasPrefix(t, "!")
		k, v, _ := strings.Cut(strings.TrimPrefix(t, "!"), "=")
		has := h.Tags[k] == v
		if has == neg {
			return false
		}
	}
	return true
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
	return strings.Join(parts, " ")
}
