package services

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Cgroup limits (issue 16): which controller each key needs.
var cgroupKeys = []struct{ key, controller string }{
	{"memory-max", "memory"}, {"memory-high", "memory"},
	{"cpu-weight", "cpu"}, {"cpu-max", "cpu"},
	{"pids-max", "pids"}, {"io-weight", "io"},
}

// CgroupKeys are the configuration keys of cgroup limits.
func CgroupKeys() []string {
	out := make([]string, len(cgroupKeys))
	for i, k := range cgroupKeys {
		out[i] = k.key
	}
	return out
}

// CgroupController is the controller a limit key needs ("" for another key).
func CgroupController(key string) string {
	for _, k := range cgroupKeys {
		if k.key == key {
			return k.controller
		}
	}
	return ""
}

// CgroupLimits are the limits of a service's cgroup. A zero field is no
// limit (the kernel's default).
type CgroupLimits struct {
	MemoryMax  int64 // bytes (memory.max)
	MemoryHigh int64 // bytes (memory.high)
	CPUWeight  int   // 1..10000 (cpu.weight)
	// CPUMaxQuota of CPU time per CPUMaxPeriod (cpu.max); 0: no limit.
	CPUMaxQuota, CPUMaxPeriod time.Duration
	PidsMax                   int64 // tasks (pids.max)
	IOWeight                  int   // 1..10000 (io.weight)
	// Pos says where each key was set, for messages.
	Pos map[string]Pos
}

// Keys lists the keys set, in a fixed order.
func (l *CgroupLimits) Keys() []string {
	var out []string
	for _, k := range cgroupKeys {
		if _, ok := l.Pos[k.key]; ok {
			out = append(out, k.key)
		}
	}
	return out
}

// Controllers lists the controllers the limits need, sorted.
func (l *CgroupLimits) Controllers() []string {
	var out []string
	for _, k := range l.Keys() {
		if c := CgroupController(k); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// Set reports whether any limit is set.
func (l *CgroupLimits) Set() bool { return len(l.Pos) > 0 }

// CgroupSupport says what the daemon can do with cgroups, for checking
// limits: Off is why there are none at all ("" when there are);
// Controllers maps each usable controller to "v2" or "v1" (its cgroup v1
// hierarchy, on a hybrid system); Missing says, for a controller that is
// not usable, why.
type CgroupSupport struct {
	Off         string
	Controllers map[string]string
	Missing     map[string]string
}

// CheckCgroupLimits reports every limit that the daemon cannot apply:
// cgroups are off, or the controller it needs is in neither hierarchy.
// Each error names the service, the key, the controller and what to do.
func CheckCgroupLimits(specs []*Spec, sup CgroupSupport) ErrorList {
	var errs ErrorList
	for _, s := range specs {
		for _, key := range s.Cgroup.Keys() {
			pos := s.Cgroup.Pos[key]
			c := CgroupController(key)
			switch mode := sup.Controllers[c]; {
			case sup.Off != "":
				errs.Add(pos, "service %s: %s needs cgroups, which shepherd does not use here (%s); remove %s, or run shepherd where it can create cgroups (see docs/config.md, cgroups)",
					s.Name, key, sup.Off, key)
			case mode == "":
				why := sup.Missing[c]
				if why == "" {
					why = "not available"
				}
				errs.Add(pos, "service %s: %s needs the %s controller, which shepherd cannot use here (%s); enable it for shepherd's cgroup, or remove %s",
					s.Name, key, c, why, key)
			case mode == "v1" && key == "memory-high":
				errs.Add(pos, "service %s: memory-high needs the cgroup v2 memory controller; here memory is a cgroup v1 hierarchy, which has no such limit: use memory-max", s.Name)
			}
		}
	}
	return errs
}

// FormatCPUMax renders a cpu-max as the config writes it ("50%").
func FormatCPUMax(quota, period time.Duration) string {
	if quota == 0 || period == 0 {
		return "max"
	}
	pct := float64(quota) / float64(period) * 100
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", pct), "0"), ".") + "%"
}
