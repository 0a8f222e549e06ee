package cgroup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"golang.org/x/sys/unix"
)

// Options say where the daemon's root cgroup is.
type Options struct {
	// Dir, when set, is the root (`shepherd --cgroup DIR`): a path in
	// the cgroup2 hierarchy, absolute or relative to its mount.
	Dir string
	// Disabled forces the fallback (`shepherd --no-cgroup`).
	Disabled bool
	// StateDir names the default root (RootName); UID is the daemon's.
	StateDir string
	UID      int
	// PID1: the root is `<mount>/shepherd`.
	PID1 bool
}

// Tree is a daemon's root cgroup and what it can do there. It is safe
// for concurrent use.
type Tree struct {
	// Mount is the cgroup2 mount; Root the root cgroup's directory.
	Mount, Root string
	// V2 lists the controllers enabled for the services (in the root's
	// cgroup.subtree_control), sorted.
	V2 []string
	// V1 maps each controller that V2 lacks, but that a cgroup v1
	// hierarchy has, to the directory mirroring Root there (created
	// when a service first needs it).
	V1 map[string]string
	// Missing says, for each controller in neither, why.
	Missing map[string]string
	// v1base is, for each V1 entry, the existing cgroup it is made
	// under (the daemon's own in that hierarchy): Close removes what
	// is between.
	v1base map[string]string
}

// controllers are those a limit may need (services.CgroupController).
var controllers = []string{"cpu", "io", "memory", "pids"}

// v1Name is a controller's name in cgroup v1.
func v1Name(c string) string {
	if c == "io" {
		return "blkio"
	}
	return c
}

// Setup finds or creates the daemon's root cgroup. An error says why
// there are no cgroups (the daemon then falls back to process groups).
func Setup(o Options) (*Tree, error) {
	if o.Disabled {
		return nil, errors.New("disabled by --no-cgroup")
	}
	mounts, own, ownDir, root, err := rootOf(o)
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		if err := delegated(filepath.Dir(root), ownDir); err != nil {
			return nil, err
		}
	}
	if err := os.Mkdir(root, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("create the root cgroup: %w", err)
	}
	if !exists(filepath.Join(root, "cgroup.procs")) {
		return nil, fmt.Errorf("%s is not a cgroup", root)
	}
	t := &Tree{Mount: mounts.V2, Root: root, V1: map[string]string{}, Missing: map[string]string{}, v1base: map[string]string{}}
	t.enableV2()
	t.findV1(mounts, own, ownDir)
	return t, nil
}

// rootOf works out where the root cgroup of a daemon with options o is.
func rootOf(o Options) (mounts Mounts, own Membership, ownDir, root string, err error) {
	mounts, err = ReadMounts()
	if err != nil {
		return mounts, own, ownDir, root, fmt.Errorf("read the mounts: %w", err)
	}
	if mounts.V2 == "" {
		return mounts, own, ownDir, root, errors.New("no cgroup2 file system is mounted")
	}
	own, err = ReadMembership(0)
	if err != nil {
		return mounts, own, ownDir, root, fmt.Errorf("find the daemon's own cgroup: %w", err)
	}
	ownDir = filepath.Join(mounts.V2, own.V2)
	switch {
	case o.Dir != "":
		root = o.Dir
		if !filepath.IsAbs(root) {
			root = filepath.Join(mounts.V2, root)
		}
		root = filepath.Clean(root)
		if rel, err := filepath.Rel(mounts.V2, root); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			return mounts, own, ownDir, root, fmt.Errorf("--cgroup %s is not a cgroup under the cgroup2 mount %s", o.Dir, mounts.V2)
		}
	case o.PID1:
		root = filepath.Join(mounts.V2, "shepherd")
	default:
		root = filepath.Join(ownDir, RootName(o.UID, o.StateDir))
	}
	return mounts, own, ownDir, root, nil
}

// delegated checks that a daemon that is not root may manage cgroups
// under parent: it may create them there, and move its children out of
// its own cgroup (whose cgroup.procs it must own: the kernel checks the
// common ancestor of both cgroups).
func delegated(parent, ownDir string) error {
	if err := unix.Access(parent, unix.W_OK); err != nil {
		return fmt.Errorf("cgroup %s is not delegated to uid %d (%v): run shepherd in a delegated cgroup (systemd: Delegate=yes, or the user's manager), or pass --cgroup DIR", parent, os.Geteuid(), err)
	}
	var st unix.Stat_t
	procs := filepath.Join(ownDir, "cgroup.procs")
	if err := unix.Stat(procs, &st); err != nil {
		return fmt.Errorf("the daemon's cgroup: %w", err)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("the daemon's cgroup %s is not delegated to uid %d (its cgroup.procs belongs to uid %d)", ownDir, os.Geteuid(), st.Uid)
	}
	return nil
}

// enableV2 enables the controllers the root is offered for its children,
// asking the parent for those it does not offer yet (which works only
// where the parent holds no process, or is the hierarchy's root).
func (t *Tree) enableV2() {
	parent := filepath.Dir(t.Root)
	avail := readList(filepath.Join(t.Root, "cgroup.controllers"))
	for _, c := range controllers {
		if !slices.Contains(avail, c) && slices.Contains(readList(filepath.Join(parent, "cgroup.controllers")), c) {
			os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+"+c), 0)
		}
	}
	avail = readList(filepath.Join(t.Root, "cgroup.controllers"))
	for _, c := range controllers {
		switch {
		case !slices.Contains(avail, c):
			t.Missing[c] = "not enabled for " + parent + " in the cgroup2 hierarchy"
		default:
			if err := os.WriteFile(filepath.Join(t.Root, "cgroup.subtree_control"), []byte("+"+c), 0); err != nil {
				t.Missing[c] = fmt.Sprintf("cannot enable it in %s/cgroup.subtree_control: %v", t.Root, err)
				continue
			}
			t.V2 = append(t.V2, c)
		}
	}
}

// findV1 mirrors the root in the cgroup v1 hierarchy of each controller
// that v2 lacks: under the daemon's own cgroup there, as in v2.
func (t *Tree) findV1(mounts Mounts, own Membership, ownDir string) {
	rel, err := filepath.Rel(ownDir, t.Root)
	base := func(c string) string { return own.V1[c] }
	if err != nil || strings.HasPrefix(rel, "..") {
		rel, _ = filepath.Rel(t.Mount, t.Root)
		base = func(string) string { return "/" }
	}
	for _, c := range controllers {
		if slices.Contains(t.V2, c) {
			continue
		}
		v1 := v1Name(c)
		mnt, ok := mounts.V1[v1]
		if !ok {
			t.Missing[c] += ", and there is no cgroup v1 " + v1 + " hierarchy"
			continue
		}
		parent := filepath.Join(mnt, base(v1))
		if err := unix.Access(parent, unix.W_OK); err != nil {
			t.Missing[c] += fmt.Sprintf(", and the cgroup v1 %s hierarchy is not writable at %s (%v)", v1, parent, err)
			continue
		}
		if c == "io" && !exists(filepath.Join(parent, "blkio.weight")) {
			t.Missing[c] += ", and cgroup v1 blkio has no blkio.weight here (it needs the BFQ I/O scheduler)"
			continue
		}
		delete(t.Missing, c)
		t.V1[c] = filepath.Join(parent, rel)
		t.v1base[c] = parent
	}
}

func readList(p string) []string {
	b, _ := os.ReadFile(p)
	return strings.Fields(string(b))
}

// Support says what the tree offers to limits (for
// services.CheckCgroupLimits).
func (t *Tree) Support() services.CgroupSupport {
	s := services.CgroupSupport{Controllers: map[string]string{}, Missing: map[string]string{}}
	for _, c := range t.V2 {
		s.Controllers[c] = "v2"
	}
	for c := range t.V1 {
		s.Controllers[c] = "v1"
	}
	for c, why := range t.Missing {
		s.Missing[c] = why
	}
	return s
}

// Mode describes the tree for the log and `herd status shepherd`:
// "cgroup v2 at ROOT (controllers: ...)", on a hybrid system "... (cgroup
// v1: pids, memory)".
func (t *Tree) Mode() string {
	var parts []string
	if len(t.V2) > 0 {
		parts = append(parts, "controllers: "+strings.Join(t.V2, ", "))
	}
	if len(t.V1) > 0 {
		var v1 []string
		for _, c := range controllers {
			if _, ok := t.V1[c]; ok {
				v1 = append(v1, c)
			}
		}
		parts = append(parts, "hybrid, cgroup v1 controllers: "+strings.Join(v1, ", "))
	}
	if len(parts) == 0 {
		parts = append(parts, "no controllers: limits unavailable")
	}
	return "cgroup v2 at " + t.Root + " (" + strings.Join(parts, "; ") + ")"
}

// Dir is the cgroup of service name.
func (t *Tree) Dir(name string) string { return Dir(t.Root, name) }

// Place is where a service's processes go: Dir, entered at fork, and
// the cgroup.procs files of its cgroup v1 mirrors, which the trampoline
// enters before it execs the command.
type Place struct {
	Dir string
	V1  []string
}

// Create makes the cgroup of service name (it may exist: a re-exec, a
// restart, a respawn) and applies l to it. A limit that was set before
// and no longer is (a reload) goes back to the kernel's default.
func (t *Tree) Create(name string, l *services.CgroupLimits) (Place, error) {
	dir := t.Dir(name)
	existed := false
	if err := os.Mkdir(dir, 0o755); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return Place{}, fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		existed = true
	}
	p := Place{Dir: dir}
	if l == nil {
		l = &services.CgroupLimits{}
	}
	for _, w := range limitFiles {
		_, set := l.Pos[w.key]
		switch {
		case slices.Contains(t.V2, w.controller):
			if set || existed {
				if err := write(dir, w.v2file, w.v2(l)); err != nil {
					return p, fmt.Errorf("%s: %w", w.key, err)
				}
			}
		case set && t.V1[w.controller] != "" && w.v1 != nil:
			v1 := filepath.Join(t.V1[w.controller], name+Suffix)
			if err := os.MkdirAll(v1, 0o755); err != nil {
				return p, fmt.Errorf("%s: create cgroup %s: %w", w.key, v1, err)
			}
			for _, fv := range w.v1(l) {
				if err := write(v1, fv[0], fv[1]); err != nil {
					return p, fmt.Errorf("%s: %w", w.key, err)
				}
			}
			if procs := filepath.Join(v1, "cgroup.procs"); !slices.Contains(p.V1, procs) {
				p.V1 = append(p.V1, procs)
			}
		case set:
			return p, fmt.Errorf("%s: the %s controller is not available (%s)", w.key, w.controller, t.Missing[w.controller])
		}
	}
	return p, nil
}

func write(dir, file, v string) error {
	return os.WriteFile(filepath.Join(dir, file), []byte(v), 0)
}

// limitFile is how one limit key is written, in v2 and in v1.
type limitFile struct {
	key, controller, v2file string
	v2                      func(*services.CgroupLimits) string
	// v1 returns the files and values to write, in order (nil: v1 has
	// no such limit).
	v1 func(*services.CgroupLimits) [][2]string
}

func orMax(n int64) string {
	if n == 0 {
		return "max"
	}
	return strconv.FormatInt(n, 10)
}

var limitFiles = []limitFile{
	{"memory-max", "memory", "memory.max", func(l *services.CgroupLimits) string { return orMax(l.MemoryMax) },
		func(l *services.CgroupLimits) [][2]string {
			return [][2]string{{"memory.limit_in_bytes", strconv.FormatInt(l.MemoryMax, 10)}}
		}},
	{"memory-high", "memory", "memory.high", func(l *services.CgroupLimits) string { return orMax(l.MemoryHigh) }, nil},
	{"cpu-weight", "cpu", "cpu.weight", func(l *services.CgroupLimits) string { return strconv.Itoa(cmpOr(l.CPUWeight, 100)) },
		func(l *services.CgroupLimits) [][2]string {
			// cpu.shares: 1024 is the default as 100 is the weight's.
			return [][2]string{{"cpu.shares", strconv.Itoa(max(2, l.CPUWeight*1024/100))}}
		}},
	{"cpu-max", "cpu", "cpu.max", func(l *services.CgroupLimits) string {
		if l.CPUMaxQuota == 0 {
			return "max 100000"
		}
		return fmt.Sprintf("%d %d", l.CPUMaxQuota.Microseconds(), l.CPUMaxPeriod.Microseconds())
	}, func(l *services.CgroupLimits) [][2]string {
		return [][2]string{{"cpu.cfs_period_us", strconv.FormatInt(l.CPUMaxPeriod.Microseconds(), 10)},
			{"cpu.cfs_quota_us", strconv.FormatInt(l.CPUMaxQuota.Microseconds(), 10)}}
	}},
	{"pids-max", "pids", "pids.max", func(l *services.CgroupLimits) string { return orMax(l.PidsMax) },
		func(l *services.CgroupLimits) [][2]string {
			return [][2]string{{"pids.max", strconv.FormatInt(l.PidsMax, 10)}}
		}},
	{"io-weight", "io", "io.weight", func(l *services.CgroupLimits) string { return "default " + strconv.Itoa(cmpOr(l.IOWeight, 100)) },
		func(l *services.CgroupLimits) [][2]string {
			return [][2]string{{"blkio.weight", strconv.Itoa(min(1000, max(10, l.IOWeight/10)))}}
		}},
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Stats are what a service's cgroup tells of it.
type Stats struct {
	// Tasks is the number of processes in it.
	Tasks int
	// CPU is the CPU time its processes used (cpu.stat usage_usec),
	// those gone included.
	CPU      time.Duration
	CPUKnown bool
	// Memory is its memory use in bytes (memory.current, or the v1
	// mirror's memory.usage_in_bytes); MemoryKnown is false where no
	// memory controller counts it.
	Memory      int64
	MemoryKnown bool
}

// Read reads the stats of service name's cgroup.
func (t *Tree) Read(name string) (Stats, error) {
	pids, err := allProcs(t.Dir(name))
	if err != nil {
		return Stats{}, err
	}
	s := t.Usage(name)
	s.Tasks = len(pids)
	return s, nil
}

// Usage reads only the CPU time and memory of service name's cgroup
// (not its processes, which Read counts at the cost of a walk):
// CPUKnown and MemoryKnown say which it could read.
func (t *Tree) Usage(name string) Stats {
	dir := t.Dir(name)
	var s Stats
	if b, err := os.ReadFile(filepath.Join(dir, "cpu.stat")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
				us, _ := strconv.ParseInt(v, 10, 64)
				s.CPU, s.CPUKnown = time.Duration(us)*time.Microsecond, true
			}
		}
	}
	memFile := filepath.Join(dir, "memory.current")
	if v1, ok := t.V1["memory"]; ok {
		memFile = filepath.Join(v1, name+Suffix, "memory.usage_in_bytes")
	}
	if b, err := os.ReadFile(memFile); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
			s.Memory, s.MemoryKnown = n, true
		}
	}
	return s
}

// Remove removes service name's cgroup (and its v1 mirrors) if it is
// empty; a missing one is removed already. A populated cgroup is an
// error: kill it and wait first.
func (t *Tree) Remove(name string) error {
	var errs []error
	for _, c := range controllers {
		if v1, ok := t.V1[c]; ok {
			errs = append(errs, rmdir(filepath.Join(v1, name+Suffix)))
		}
	}
	return errors.Join(append([]error{rmdir(t.Dir(name))}, errs...)...)
}

// rmdir removes an empty cgroup. Right after its last process exits a
// cgroup v1 directory may still be busy for a moment: a few tries.
func rmdir(dir string) error {
	for i := 0; ; i++ {
		err := unix.Rmdir(dir)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
			return nil
		case errors.Is(err, unix.EBUSY) && i < 20:
			time.Sleep(time.Duration(i+1) * time.Millisecond)
			continue
		}
		return fmt.Errorf("remove cgroup %s: %w", dir, err)
	}
}

// Close removes the service cgroups that are empty and then the root and
// its v1 mirrors if they are empty (a daemon's shutdown). Cgroups still
// holding processes stay, and so does the root above them.
func (t *Tree) Close() error {
	prev, err := Previous(t.Root)
	if err != nil {
		return err
	}
	for name, pids := range prev {
		if len(pids) == 0 {
			t.Remove(name)
		}
	}
	for _, c := range controllers {
		if v1, ok := t.V1[c]; ok {
			for d := v1; d != t.v1base[c] && strings.HasPrefix(d, t.v1base[c]); d = filepath.Dir(d) {
				if unix.Rmdir(d) != nil {
					break
				}
			}
		}
	}
	if err := unix.Rmdir(t.Root); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("the root cgroup %s stays: %w", t.Root, err)
	}
	return nil
}

// Start sets the daemon's cgroups up: the tree, or nil and why there is
// none; mode says which, for the daemon's log and `herd status
// shepherd`.
func Start(o Options) (t *Tree, mode string, off string) {
	t, err := Setup(o)
	if err != nil {
		off = err.Error()
		return nil, "none (" + off + "): each service is tracked by its process group, its session and the orphans the daemon reaps as their subreaper", off
	}
	return t, t.Mode(), ""
}

// SupportOf says what tree t offers to limits, or that there are no
// cgroups (t nil) and why (off).
func SupportOf(t *Tree, off string) services.CgroupSupport {
	if t == nil {
		return services.CgroupSupport{Off: off}
	}
	return t.Support()
}

// Destroy kills and removes the root cgroup of a daemon with options o,
// with every service cgroup in it and their v1 mirrors, if it exists:
// for tests, whose daemons may be killed before they clean up.
func Destroy(o Options) error {
	_, _, _, root, err := rootOf(o)
	if err != nil || !exists(root) {
		return nil
	}
	t, err := Setup(o)
	if err != nil {
		return err
	}
	prev, err := Previous(t.Root)
	if err != nil {
		return err
	}
	var errs []error
	for name := range prev {
		Kill(t.Dir(name))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := WaitEmpty(ctx, t.Dir(name))
		cancel()
		errs = append(errs, err, t.Remove(name))
	}
	return errors.Join(append(errs, t.Close())...)
}
