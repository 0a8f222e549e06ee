package config

import (
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

func TestCgroupLimits(t *testing.T) {
	s, errs := parseOne(t, `
services:
  - name: web
    command: [sleep, "9"]
    memory-max: 512M
    memory-high: 1G
    cpu-weight: 200
    cpu-max: 50%
    pids-max: 20
    io-weight: 300
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	l := s.Cgroup
	if l.MemoryMax != 512<<20 || l.MemoryHigh != 1<<30 || l.CPUWeight != 200 || l.CPUMaxQuota != 50*time.Millisecond ||
		l.CPUMaxPeriod != 100*time.Millisecond || l.PidsMax != 20 || l.IOWeight != 300 {
		t.Errorf("limits %+v", l)
	}
	if got := strings.Join(l.Keys(), " "); got != "memory-max memory-high cpu-weight cpu-max pids-max io-weight" {
		t.Errorf("keys %q", got)
	}
	if p := l.Pos["pids-max"]; p.Line != 9 || p.Col != 5 {
		t.Errorf("pids-max at %+v", p)
	}
	if got := strings.Join(l.Controllers(), " "); got != "cpu io memory pids" {
		t.Errorf("controllers %q", got)
	}

	s, errs = parseOne(t, "services:\n  - name: web\n    command: [x]\n    memory-max: max\n    pids-max: max\n")
	if len(errs) > 0 || s.Cgroup.Set() {
		t.Errorf("max is no limit: %+v %v", s.Cgroup, errs)
	}
}

func TestCgroupLimitErrors(t *testing.T) {
	_, errs := parseOne(t, `
services:
  - name: web
    command: [x]
    memory-max: lots
    cpu-weight: 0
    cpu-max: "50"
    pids-max: -1
    io-weight: [1]
`)
	got := errs.Error()
	for _, want := range []string{
		`s.yaml:5:17: memory-max: "lots" is not a size such as 512M, 2G or max`,
		`s.yaml:6:17: cpu-weight: "0" is not a weight from 1 to 10000 (the default is 100)`,
		`s.yaml:7:14: cpu-max: "50" is not a share of one CPU such as 50% or 200% (at least 1%), or max`,
		`s.yaml:8:15: pids-max: "-1" is not a number of tasks (at least 1) or max`,
		`s.yaml:9:16: io-weight: expected a value, got a list`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

// A limit whose controller is in neither hierarchy is an error at its
// key, naming the controller and what to do.
func TestCheckCgroupLimits(t *testing.T) {
	specs, errs := Parse("s.yaml", []byte(`
services:
  - name: web
    command: [x]
    pids-max: 20
    memory-high: 1G
    io-weight: 50
`), testAccounts)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	sup := services.CgroupSupport{Controllers: map[string]string{"pids": "v1", "memory": "v1"},
		Missing: map[string]string{"io": "not in the cgroup2 hierarchy, and blkio.weight is missing in cgroup v1"}}
	got := services.CheckCgroupLimits(specs, sup).Error()
	for _, want := range []string{
		"s.yaml:6:5: service web: memory-high needs the cgroup v2 memory controller; here memory is a cgroup v1 hierarchy, which has no such limit: use memory-max",
		"s.yaml:7:5: service web: io-weight needs the io controller, which shepherd cannot use here (not in the cgroup2 hierarchy, and blkio.weight is missing in cgroup v1); enable it for shepherd's cgroup, or remove io-weight",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "pids-max") {
		t.Errorf("pids-max is usable through cgroup v1:\n%s", got)
	}
	got = services.CheckCgroupLimits(specs, services.CgroupSupport{Off: "disabled by --no-cgroup"}).Error()
	if !strings.Contains(got, "s.yaml:5:5: service web: pids-max needs cgroups, which shepherd does not use here (disabled by --no-cgroup)") {
		t.Errorf("cgroups off:\n%s", got)
	}
}
