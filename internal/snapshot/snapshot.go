package snapshot

import (
	"bufio"
	"bytes"
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Host is one host's facts.
type Host struct {
	Host   string    `json:"host"`
	Time   time.Time `json:"time"`
	OS     string    `json:"os"`
	Kernel string    `json:"kernel"`
	// UptimeSeconds is how long the host has run.
	UptimeSeconds int64 `json:"uptime_seconds"`
	CPUs          int   `json:"cpus"`
	// MemTotal and MemAvailable are in bytes.
	MemTotal     int64  `json:"mem_total"`
	MemAvailable int64  `json:"mem_available"`
	Disks        []Disk `json:"disks"`
	// PackageManager is dpkg, rpm or "" (none found).
	PackageManager string    `json:"package_manager,omitempty"`
	Packages       []Package `json:"packages"`
	// Services are the shepherd's (shepherd hosts only).
	Services []Service `json:"services"`
	// Units are systemd's services (hosts that run systemd only).
	Units []Unit `json:"units"`
}

// Disk is one mounted file system.
type Disk struct {
	Mount  string `json:"mount"`
	Device string `json:"device"`
	// Size and Used are in bytes; UsePercent is df's.
	Size       int64 `json:"size"`
	Used       int64 `json:"used"`
	UsePercent int   `json:"use_percent"`
}

// Package is one installed package.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Service is one shepherd service and its state.
type Service struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// Unit is one systemd unit: its active state and sub-state.
type Unit struct {
	Name   string `json:"name"`
	Active string `json:"active"`
	Sub    string `json:"sub"`
}

// Bounds on what a snapshot keeps of hostile output.
const (
	maxLine     = 4096
	maxPackages = 20000
	maxUnits    = 5000
	maxDisks    = 256
	maxField    = 256
)

// Script gathers the facts, one section per "@@NAME" line. It takes no
// input; each command may be missing (its section is then empty).
const Script = `echo @@os; cat /etc/os-release 2>/dev/null
echo @@kernel; uname -sr 2>/dev/null
echo @@uptime; cat /proc/uptime 2>/dev/null
echo @@cpus; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null
echo @@meminfo; cat /proc/meminfo 2>/dev/null
echo @@df; df -P -k -x tmpfs -x devtmpfs 2>/dev/null
if command -v dpkg-query >/dev/null 2>&1; then echo @@dpkg; dpkg-query -W -f '${Package}\t${Version}\n' 2>/dev/null
elif command -v rpm >/dev/null 2>&1; then echo @@rpm; rpm -qa --qf '%{NAME}\t%{VERSION}-%{RELEASE}\n' 2>/dev/null; fi
if [ -d /run/systemd/system ]; then echo @@systemd; systemctl list-units --type=service --all --no-legend --plain --no-pager 2>/dev/null; fi
exit 0
`

// Sections splits the script's output into its sections' lines (lines
// longer than maxLine are cut).
func Sections(out []byte) map[string][]string {
	secs := map[string][]string{}
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if len(l) > maxLine {
			l = l[:maxLine]
		}
		if name, ok := strings.CutPrefix(l, "@@"); ok && !strings.ContainsAny(name, " \t") {
			cur = name
			if _, seen := secs[cur]; !seen {
				secs[cur] = []string{}
			}
			continue
		}
		if cur != "" {
			secs[cur] = append(secs[cur], l)
		}
	}
	return secs
}

// Parse reads the script's output into a Host (Host, Time and Services
// are the caller's).
func Parse(out []byte) Host {
	s := Sections(out)
	h := Host{
		OS:            ParseOSRelease(s["os"]),
		Kernel:        clip(strings.TrimSpace(strings.Join(s["kernel"], " "))),
		UptimeSeconds: ParseUptime(s["uptime"]),
		CPUs:          ParseCPUs(s["cpus"]),
		Disks:         ParseDF(s["df"]),
		Units:         ParseUnits(s["systemd"]),
		Packages:      []Package{},
		Services:      []Service{},
	}
	h.MemTotal, h.MemAvailable = ParseMeminfo(s["meminfo"])
	if l, ok := s["dpkg"]; ok {
		h.PackageManager, h.Packages = "dpkg", ParsePackages(l)
	} else if l, ok := s["rpm"]; ok {
		h.PackageManager, h.Packages = "rpm", ParsePackages(l)
	}
	return h
}

func clip(s string) string {
	if len(s) > maxField {
		return s[:maxField]
	}
	return s
}

// ParseOSRelease is os-release's PRETTY_NAME (or NAME VERSION_ID).
func ParseOSRelease(lines []string) string {
	kv := map[string]string{}
	for _, l := range lines {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		kv[strings.TrimSpace(k)] = v
	}
	if p := kv["PRETTY_NAME"]; p != "" {
		return clip(p)
	}
	return clip(strings.TrimSpace(kv["NAME"] + " " + kv["VERSION_ID"]))
}

// ParseUptime is /proc/uptime's first number, in whole seconds.
func ParseUptime(lines []string) int64 {
	if len(lines) == 0 {
		return 0
	}
	f := strings.Fields(lines[0])
	if len(f) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v < 0 || v > 1e12 {
		return 0
	}
	return int64(v)
}

// ParseCPUs is nproc's answer.
func ParseCPUs(lines []string) int {
	if len(lines) == 0 {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || n < 0 || n > 1<<20 {
		return 0
	}
	return n
}

// ParseMeminfo is /proc/meminfo's MemTotal and MemAvailable, in bytes.
func ParseMeminfo(lines []string) (total, avail int64) {
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || n < 0 || n > 1<<50 {
			continue
		}
		if len(f) == 3 && f[2] == "kB" {
			n *= 1024
		}
		switch f[0] {
		case "MemTotal:":
			total = n
		case "MemAvailable:":
			avail = n
		}
	}
	return total, avail
}

// ParseDF reads `df -P -k`: one disk per line after the header, sorted
// by mount point.
func ParseDF(lines []string) []Disk {
	disks := []Disk{}
	for _, l := range lines {
		f := strings.Fields(l)
		// Filesystem 1024-blocks Used Available Capacity Mounted on
		if len(f) < 6 || f[0] == "Filesystem" || !strings.HasSuffix(f[4], "%") {
			continue
		}
		size, err1 := strconv.ParseInt(f[1], 10, 64)
		used, err2 := strconv.ParseInt(f[2], 10, 64)
		pct, err3 := strconv.Atoi(strings.TrimSuffix(f[4], "%"))
		if err1 != nil || err2 != nil || err3 != nil || size < 0 || used < 0 || size > 1<<50 || used > 1<<50 {
			continue
		}
		disks = append(disks, Disk{Mount: clip(strings.Join(f[5:], " ")), Device: clip(f[0]), Size: size * 1024, Used: used * 1024, UsePercent: pct})
		if len(disks) == maxDisks {
			break
		}
	}
	slices.SortFunc(disks, func(a, b Disk) int { return cmp.Compare(a.Mount, b.Mount) })
	return slices.CompactFunc(disks, func(a, b Disk) bool { return a.Mount == b.Mount })
}

// ParsePackages reads NAME<TAB>VERSION lines (dpkg-query -W, rpm -qa
// --qf), sorted by name then version.
func ParsePackages(lines []string) []Package {
	pkgs := []Package{}
	for _, l := range lines {
		name, version, ok := strings.Cut(l, "\t")
		name, version = strings.TrimSpace(name), strings.TrimSpace(version)
		if !ok || name == "" || strings.ContainsAny(name, " ") {
			continue
		}
		pkgs = append(pkgs, Package{Name: clip(name), Version: clip(version)})
		if len(pkgs) == maxPackages {
			break
		}
	}
	slices.SortFunc(pkgs, func(a, b Package) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version)) })
	return slices.Compact(pkgs)
}

// ParseUnits reads `systemctl list-units --plain --no-legend`: UNIT LOAD
// ACTIVE SUB DESCRIPTION.
func ParseUnits(lines []string) []Unit {
	units := []Unit{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 4 || !strings.Contains(f[0], ".") {
			continue
		}
		units = append(units, Unit{Name: clip(f[0]), Active: clip(f[2]), Sub: clip(f[3])})
		if len(units) == maxUnits {
			break
		}
	}
	slices.SortFunc(units, func(a, b Unit) int { return cmp.Compare(a.Name, b.Name) })
	return units
}
