package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"go.yaml.in/yaml/v3"
)

// cgroupLimit reads one cgroup limit key (services.CgroupKeys) into s:
//
//	memory-max, memory-high: a size (bytes, or 512K, 64M, 2G, 1T), or max
//	cpu-weight, io-weight:   1..10000 (the kernel's default is 100)
//	cpu-max:                 a percentage of one CPU ("50%", "200%"), or max
//	pids-max:                a number of tasks, or max
//
// "max" is no limit, as the kernel writes it. Whether the controller is
// usable here is checked with the daemon's cgroups
// (services.CheckCgroupLimits), not by the parser.
func (p parser) cgroupLimit(s *services.Spec, key string, k, v *yaml.Node) {
	if !p.Scalar(key, v, "a value") {
		return
	}
	l := &s.Cgroup
	val := strings.TrimSpace(v.Value)
	unlimited := val == "max" || val == "infinity"
	switch key {
	case "memory-max", "memory-high":
		n := int64(0)
		if !unlimited {
			var ok bool
			if n, ok = parseBytes(val); !ok || n <= 0 {
				p.Errorf(v, "%s: %q is not a size such as 512M, 2G or max", key, v.Value)
				return
			}
		}
		if key == "memory-max" {
			l.MemoryMax = n
		} else {
			l.MemoryHigh = n
		}
	case "cpu-weight", "io-weight":
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > 10000 {
			p.Errorf(v, "%s: %q is not a weight from 1 to 10000 (the default is 100)", key, v.Value)
			return
		}
		if key == "cpu-weight" {
			l.CPUWeight = n
		} else {
			l.IOWeight = n
		}
	case "cpu-max":
		if unlimited {
			break
		}
		pct, ok := strings.CutSuffix(val, "%")
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		// The kernel takes a quota of at least 1ms per period.
		if !ok || err != nil || f < 1 || f > 100000 {
			p.Errorf(v, "cpu-max: %q is not a share of one CPU such as 50%% or 200%% (at least 1%%), or max", v.Value)
			return
		}
		l.CPUMaxPeriod = 100 * time.Millisecond
		l.CPUMaxQuota = time.Duration(f / 100 * float64(l.CPUMaxPeriod)).Round(time.Microsecond)
	case "pids-max":
		if unlimited {
			break
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 1 {
			p.Errorf(v, "pids-max: %q is not a number of tasks (at least 1) or max", v.Value)
			return
		}
		l.PidsMax = n
	}
	if unlimited {
		return // nothing to apply, so nothing to check
	}
	if l.Pos == nil {
		l.Pos = map[string]services.Pos{}
	}
	l.Pos[key] = p.Pos(k)
}

// parseBytes reads 4096, 512K, 64M, 2G, 1T (binary units; KiB, MB and
// the like too).
func parseBytes(s string) (int64, bool) {
	u := strings.ToUpper(s)
	mult := int64(1)
	for _, x := range []struct {
		suffix string
		mult   int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(u, x.suffix); ok {
			u, mult = strings.TrimSpace(rest), x.mult
			break
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, false
	}
	return n * mult, true
}
