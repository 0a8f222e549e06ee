package cgroup

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

const hybridMountinfo = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw
41 30 0:38 /sub /mnt/bound rw - cgroup cgroup rw,blkio
`

func TestParseMountinfo(t *testing.T) {
	m, err := parseMountinfo(strings.NewReader(hybridMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if m.V2 != "/sys/fs/cgroup/unified" {
		t.Errorf("V2 = %q", m.V2)
	}
	want := map[string]string{"cpu": "/sys/fs/cgroup/cpu", "memory": "/sys/fs/cgroup/memory", "pids": "/sys/fs/cgroup/pids"}
	if len(m.V1) != len(want) {
		t.Errorf("V1 = %v, want %v (a bind of a sub-cgroup does not count)", m.V1, want)
	}
	for c, p := range want {
		if m.V1[c] != p {
			t.Errorf("V1[%s] = %q, want %q", c, m.V1[c], p)
		}
	}
	u, _ := parseMountinfo(strings.NewReader("25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n26 1 0:5 / /mnt/a\\040b rw - cgroup2 x rw\n"))
	if u.V2 != "/sys/fs/cgroup" {
		t.Errorf("unified V2 = %q", u.V2)
	}
}

func TestParseMembership(t *testing.T) {
	m, err := parseMembership(strings.NewReader("9:name=systemd:/\n4:memory:/process_api/35d4\n1:cpu,cpuacct:/a\n0::/user.slice/x.scope\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.V2 != "/user.slice/x.scope" || m.V1["memory"] != "/process_api/35d4" || m.V1["cpuacct"] != "/a" {
		t.Errorf("membership = %+v", m)
	}
	if _, err := parseMembership(strings.NewReader("4:memory:/\n")); err == nil {
		t.Error("a v1-only membership parsed without error")
	}
}

func TestRootName(t *testing.T) {
	a, b := RootName(1000, "/var/lib/a"), RootName(1000, "/var/lib/b")
	if a == b || !strings.HasPrefix(a, "shepherd-1000-") || len(a) != len("shepherd-1000-")+8 {
		t.Errorf("RootName: %q, %q", a, b)
	}
	if a != RootName(1000, "/var/lib/a/") {
		t.Error("RootName is not stable for one directory")
	}
	if Dir("/r", "pool.3") != "/r/pool.3.service" {
		t.Errorf("Dir = %q", Dir("/r", "pool.3"))
	}
}

// testRoot makes a fresh cgroup under the real cgroup2 mount for one
// test, and removes it (killing what is left in it) at its end.
func testRoot(t *testing.T) string {
	t.Helper()
	m, err := ReadMounts()
	if err != nil || m.V2 == "" {
		t.Skipf("no cgroup2 mount (%v)", err)
	}
	own, err := ReadMembership(0)
	if err != nil {
		t.Skipf("no cgroup2 membership: %v", err)
	}
	parent := filepath.Join(m.V2, own.V2)
	root, err := os.MkdirTemp(parent, "cgtest-")
	if err != nil {
		t.Skipf("cannot create a cgroup under %s (needs root or delegation): %v", parent, err)
	}
	t.Cleanup(func() { removeTree(t, root) })
	return root
}

// removeTree kills and removes every cgroup under dir, deepest first.
func removeTree(t *testing.T, dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			removeTree(t, filepath.Join(dir, e.Name()))
		}
	}
	Kill(dir)
	if _, err := waitEmpty(dir); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
		t.Errorf("cleanup: %v", err)
	}
}

// startIn starts argv inside cgroup dir (CLONE_INTO_CGROUP) and returns it.
func startIn(t *testing.T, dir string, argv ...string) *exec.Cmd {
	t.Helper()
	fd, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd, Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func TestPrevious(t *testing.T) {
	root := testRoot(t)
	if got, err := Previous(filepath.Join(root, "missing")); err != nil || len(got) != 0 {
		t.Fatalf("Previous of a missing root = %v, %v", got, err)
	}
	for _, n := range []string{"web", "pool.3", "idle"} {
		if err := os.Mkdir(Dir(root, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Mkdir(filepath.Join(root, "not-a-service"), 0o755)
	web := startIn(t, Dir(root, "web"), "sleep", "60")
	pool := startIn(t, Dir(root, "pool.3"), "sleep", "60")
	got, err := Previous(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !slices.Equal(got["web"], []int{web.Process.Pid}) ||
		!slices.Equal(got["pool.3"], []int{pool.Process.Pid}) || len(got["idle"]) != 0 {
		t.Errorf("Previous = %v (web %d, pool.3 %d)", got, web.Process.Pid, pool.Process.Pid)
	}
}
