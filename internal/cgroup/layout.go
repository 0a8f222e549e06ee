package cgroup

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Suffix ends the name of every service's cgroup.
const Suffix = ".service"

// Dir is the cgroup of service name under root: `<root>/<name>.service`
// (instance pool.3 is pool.3.service).
func Dir(root, name string) string { return filepath.Join(root, name+Suffix) }

// RootName is the default name of a daemon's root cgroup, a child of its
// own: `shepherd-<uid>-<8 hex>`, the hex from the sha256 of the absolute
// state directory, so that one daemon finds its root again after a
// restart, and two daemons (tests run many) never share one.
func RootName(uid int, stateDir string) string {
	if abs, err := filepath.Abs(stateDir); err == nil {
		stateDir = abs
	}
	sum := sha256.Sum256([]byte(stateDir))
	return "shepherd-" + strconv.Itoa(uid) + "-" + hex.EncodeToString(sum[:4])
}

// Mounts are where the cgroup hierarchies are mounted.
type Mounts struct {
	// V2 is the cgroup2 mount point, "" if there is none.
	V2 string
	// V1 maps a cgroup v1 controller ("pids", "memory", "cpu", "blkio")
	// to the mount point of its hierarchy.
	V1 map[string]string
}

// ReadMounts reads /proc/self/mountinfo.
func ReadMounts() (Mounts, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return Mounts{}, err
	}
	defer f.Close()
	return parseMountinfo(f)
}

// parseMountinfo reads the cgroup mounts of a mountinfo file (proc(5)):
// `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS`.
// The first cgroup2 mount wins; a v1 hierarchy counts only when mounted
// at its root (a bind of a sub-cgroup, as in a container, hides the
// rest of it).
func parseMountinfo(r io.Reader) (Mounts, error) {
	m := Mounts{V1: map[string]string{}}
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), 1<<20)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+3 {
			continue
		}
		root, point, fstype, super := fields[3], unescape(fields[4]), fields[sep+1], fields[sep+3]
		switch fstype {
		case "cgroup2":
			if m.V2 == "" {
				m.V2 = point
			}
		case "cgroup":
			if root != "/" {
				continue
			}
			for _, opt := range strings.Split(super, ",") {
				switch opt {
				case "pids", "memory", "cpu", "cpuacct", "blkio", "io":
					if _, ok := m.V1[opt]; !ok {
						m.V1[opt] = point
					}
				}
			}
		}
	}
	return m, s.Err()
}

// unescape undoes mountinfo's octal escapes (`\040` for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Membership is the cgroups of a process (/proc/PID/cgroup): V2 its path
// in the cgroup2 hierarchy ("/" for the root), V1 by controller.
type Membership struct {
	V2 string
	V1 map[string]string
}

// ReadMembership reads /proc/<pid>/cgroup (pid 0: this process).
func ReadMembership(pid int) (Membership, error) {
	p := "/proc/self/cgroup"
	if pid != 0 {
		p = "/proc/" + strconv.Itoa(pid) + "/cgroup"
	}
	f, err := os.Open(p)
	if err != nil {
		return Membership{}, err
	}
	defer f.Close()
	return parseMembership(f)
}

func parseMembership(r io.Reader) (Membership, error) {
	m := Membership{V1: map[string]string{}}
	s := bufio.NewScanner(r)
	found := false
	for s.Scan() {
		id, rest, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		ctrls, path, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		if id == "0" && ctrls == "" {
			m.V2, found = path, true
			continue
		}
		for _, c := range strings.Split(ctrls, ",") {
			m.V1[c] = path
		}
	}
	if err := s.Err(); err != nil {
		return m, err
	}
	if !found {
		return m, errors.New("no cgroup2 membership (no \"0::\" line)")
	}
	return m, nil
}

// Previous lists the service cgroups under root (`<name>.service`) with
// the PIDs in each: what a previous run of the daemon left, for adoption
// after a crash. A missing root is no cgroup at all (nil error). A
// service whose cgroup is empty is listed with no PIDs.
//
// It is the interface for adoption (issue 16): the cgroup path is the
// service's identity on disk, so a restarted daemon recognises its
// services' processes by the directory they are in, whatever their PIDs
// or parents.
func Previous(root string) (map[string][]int, error) {
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return map[string][]int{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), Suffix)
		if !ok || !e.IsDir() || name == "" {
			continue
		}
		pids, err := Procs(filepath.Join(root, e.Name()))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // removed meanwhile
			}
			return nil, fmt.Errorf("cgroup of service %s: %w", name, err)
		}
		out[name] = pids
	}
	return out, nil
}

// Procs lists the PIDs in cgroup dir (its cgroup.procs; not those of
// its children).
func Procs(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" {
			continue
		}
		pid, err := strconv.Atoi(l)
		if err != nil {
			return nil, fmt.Errorf("%s/cgroup.procs: bad line %q", dir, l)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}
