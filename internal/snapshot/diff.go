package snapshot

import (
	"fmt"
	"strings"
)

// Changes says what changed on one host from snapshot a to b, one line
// per fact: "disk /: 42% → 93%", "packages: +nginx 1.26.0, -nginx 1.24.0".
// None: the host is the same (uptime aside).
func Changes(a, b Host) []string {
	var out []string
	change := func(what, from, to string) {
		if from != to {
			out = append(out, fmt.Sprintf("%s: %s → %s", what, orNone(from), orNone(to)))
		}
	}
	change("os", a.OS, b.OS)
	change("kernel", a.Kernel, b.Kernel)
	if b.UptimeSeconds < a.UptimeSeconds {
		out = append(out, fmt.Sprintf("rebooted (up %s)", uptime(b.UptimeSeconds)))
	}
	change("cpus", itoa(a.CPUs), itoa(b.CPUs))
	change("memory", gib(a.MemTotal), gib(b.MemTotal))
	out = append(out, diskChanges(a.Disks, b.Disks)...)
	if l := packageChanges(a.Packages, b.Packages); l != "" {
		out = append(out, "packages: "+l)
	}
	out = append(out, stateChanges("service", serviceStates(a.Services), serviceStates(b.Services))...)
	out = append(out, stateChanges("unit", unitStates(a.Units), unitStates(b.Units))...)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func gib(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

func uptime(s int64) string {
	switch {
	case s < 3600:
		return fmt.Sprintf("%dm", s/60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

func diskChanges(a, b []Disk) []string {
	var out []string
	old := map[string]Disk{}
	for _, d := range a {
		old[d.Mount] = d
	}
	seen := map[string]bool{}
	for _, d := range b {
		seen[d.Mount] = true
		o, ok := old[d.Mount]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("disk %s: new, %d%%", d.Mount, d.UsePercent))
		case o.UsePercent != d.UsePercent:
			out = append(out, fmt.Sprintf("disk %s: %d%% → %d%%", d.Mount, o.UsePercent, d.UsePercent))
		}
	}
	for _, d := range a {
		if !seen[d.Mount] {
			out = append(out, fmt.Sprintf("disk %s: gone", d.Mount))
		}
	}
	return out
}

// packageChanges is "+NAME VERSION" for each package (or version) added
// and "-NAME VERSION" for each removed, comma separated; "" for none.
func packageChanges(a, b []Package) string {
	in := func(ps []Package) map[Package]bool {
		m := make(map[Package]bool, len(ps))
		for _, p := range ps {
			m[p] = true
		}
		return m
	}
	inA, inB := in(a), in(b)
	var parts []string
	for _, p := range b {
		if !inA[p] {
			parts = append(parts, "+"+p.Name+" "+p.Version)
		}
	}
	for _, p := range a {
		if !inB[p] {
			parts = append(parts, "-"+p.Name+" "+p.Version)
		}
	}
	return strings.Join(parts, ", ")
}

type named struct{ name, state string }

func serviceStates(ss []Service) []named {
	out := make([]named, len(ss))
	for i, s := range ss {
		out[i] = named{s.Name, s.State}
	}
	return out
}

func unitStates(us []Unit) []named {
	out := make([]named, len(us))
	for i, u := range us {
		out[i] = named{u.Name, u.Active + " " + u.Sub}
	}
	return out
}

func stateChanges(what string, a, b []named) []string {
	var out []string
	old := map[string]string{}
	for _, n := range a {
		old[n.name] = n.state
	}
	seen := map[string]bool{}
	for _, n := range b {
		seen[n.name] = true
		o, ok := old[n.name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s %s: new, %s", what, n.name, n.state))
		case o != n.state:
			out = append(out, fmt.Sprintf("%s %s: %s → %s", what, n.name, o, n.state))
		}
	}
	for _, n := range a {
		if !seen[n.name] {
			out = append(out, fmt.Sprintf("%s %s: gone", what, n.name))
		}
	}
	return out
}
