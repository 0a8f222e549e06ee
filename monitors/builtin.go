package monitors

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"golang.org/x/sys/unix"
)

// Host facts are about the subject "host".
const hostSubject = "host"

func num(subject, name string, v float64, unit string, t time.Time) facts.Fact {
	return facts.Fact{Subject: subject, Name: name, Num: v, IsNum: true, Unit: unit, Time: t}
}

func text(subject, name, v string, t time.Time) facts.Fact {
	return facts.Fact{Subject: subject, Name: name, Text: v, Time: t}
}

// ParseLoadavg reads /proc/loadavg.
func ParseLoadavg(b []byte, t time.Time) ([]facts.Fact, error) {
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return nil, errors.New("loadavg: fewer than 3 fields")
	}
	var out []facts.Fact
	for i, name := range []string{"load.1", "load.5", "load.15"} {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return nil, fmt.Errorf("loadavg: %q: %v", f[i], err)
		}
		out = append(out, num(hostSubject, name, v, "", t))
	}
	return out, nil
}

// ParseMeminfo reads /proc/meminfo: memory.total and memory.available in
// bytes, and memory.available_pct.
func ParseMeminfo(b []byte, t time.Time) ([]facts.Fact, error) {
	var total, avail float64
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "MemTotal" && k != "MemAvailable") {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		n, err := strconv.ParseFloat(fs[0], 64)
		if err != nil {
			return nil, fmt.Errorf("meminfo: %s: %v", k, err)
		}
		if len(fs) > 1 && fs[1] == "kB" {
			n *= 1024
		}
		if k == "MemTotal" {
			total = n
		} else {
			avail = n
		}
		found++
	}
	if found < 2 || total <= 0 {
		return nil, errors.New("meminfo: no MemTotal and MemAvailable")
	}
	return []facts.Fact{
		num(hostSubject, "memory.total", total, "bytes", t),
		num(hostSubject, "memory.available", avail, "bytes", t),
		num(hostSubject, "memory.available_pct", float64(int(avail/total*10000))/100, "%", t),
	}, nil
}

// ParseCPUs counts the cpuN lines of /proc/stat.
func ParseCPUs(b []byte, t time.Time) ([]facts.Fact, error) {
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "cpu") && len(l) > 3 && l[3] >= '0' && l[3] <= '9' {
			n++
		}
	}
	if n == 0 {
		return nil, errors.New("stat: no cpu lines")
	}
	return []facts.Fact{num(hostSubject, "cpu.count", float64(n), "", t)}, nil
}

// ParseUptime reads /proc/uptime.
func ParseUptime(b []byte, t time.Time) ([]facts.Fact, error) {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return nil, errors.New("uptime: empty")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return nil, fmt.Errorf("uptime: %v", err)
	}
	return []facts.Fact{num(hostSubject, "uptime", float64(int64(v)), "s", t)}, nil
}

// ParseOSRelease reads PRETTY_NAME (else NAME VERSION_ID) of os-release.
func ParseOSRelease(b []byte) string {
	vals := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if ok {
			vals[k] = strings.Trim(v, `"'`)
		}
	}
	if s := vals["PRETTY_NAME"]; s != "" {
		return s
	}
	return strings.TrimSpace(vals["NAME"] + " " + vals["VERSION_ID"])
}

// ParsePackages reads lines "NAME\tVERSION" (dpkg-query -W -f, rpm -qa
// --qf), at most facts.MaxFacts of them.
func ParsePackages(b []byte, t time.Time) []facts.Fact {
	var out []facts.Fact
	for _, l := range strings.Split(string(b), "\n") {
		name, ver, ok := strings.Cut(strings.TrimSpace(l), "\t")
		if !ok || name == "" || ver == "" {
			continue
		}
		f := text("package:"+name, "version", ver, t)
		if facts.Validate(f) != nil {
			continue
		}
		out = append(out, f)
		if len(out) == facts.MaxFacts {
			break
		}
	}
	return out
}

// realFS are the filesystem types the disk monitor measures.
var realFS = map[string]bool{"ext2": true, "ext3": true, "ext4": true, "xfs": true, "btrfs": true, "zfs": true, "vfat": true,
	"f2fs": true, "jfs": true, "reiserfs": true, "overlay": true, "tmpfs": false}

// ParseMounts lists the mount points of real filesystems in a
// /proc/mounts, each once.
func ParseMounts(b []byte) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || !realFS[f[2]] || seen[f[1]] {
			continue
		}
		seen[f[1]] = true
		out = append(out, unescapeMount(f[1]))
	}
	return out
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// diskFacts measures one mount point.
func diskFacts(mount string, t time.Time) ([]facts.Fact, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(mount, &st); err != nil {
		return nil, err
	}
	size := float64(st.Blocks) * float64(st.Bsize)
	free := float64(st.Bavail) * float64(st.Bsize)
	used := size - float64(st.Bfree)*float64(st.Bsize)
	pct := 0.0
	if used+free > 0 {
		pct = float64(int(used/(used+free)*10000)) / 100
	}
	s := "mount:" + mount
	return []facts.Fact{num(s, "disk.size", size, "bytes", t), num(s, "disk.used", used, "bytes", t), num(s, "disk.used_pct", pct, "%", t)}, nil
}

// procFile reads a file of the proc root (for tests, a directory of fake
// files).
func (m *Monitors) procFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(m.env.ProcRoot, name))
}
