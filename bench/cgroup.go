package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupBench starts and stops n services with a cgroup each (a daemon of
// its own, with cgroups on), against the same bare fork/exec loop,
// measured in alternation; and, for reference, a bare loop that makes a
// cgroup per process and clones each into it (mkdir + CLONE_INTO_CGROUP),
// which is what a cgroup adds to a start at the least.
func cgroupBench(bin, dir string, n int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	b := &bench{bin: bin, dir: dir, sock: filepath.Join(dir, "run", "socket"), cgroups: true}
	if err := b.writeConfig(n); err != nil {
		return err
	}
	if err := b.startDaemon(); err != nil {
		return err
	}
	defer b.stopDaemon()
	out, err := exec.Command(filepath.Join(bin, "herd"), "-s", b.sock, "status", "shepherd").Output()
	if err != nil {
		return fmt.Errorf("herd status shepherd: %v", err)
	}
	mode := ""
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Cgroups: "); ok {
			mode = v
		}
	}
	if !strings.HasPrefix(mode, "cgroup v2 at ") {
		fmt.Printf("%-28s skipped: %s\n", "start with cgroups", mode)
		return nil
	}
	root := strings.Fields(strings.TrimPrefix(mode, "cgroup v2 at "))[0]
	if err := b.startStop(n); err != nil {
		return err
	}
	bare, err := bareCgroupLoop(filepath.Dir(root), n)
	if err != nil {
		return fmt.Errorf("bare loop with cgroups: %w", err)
	}
	plain, _, err := bareLoop(n)
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %8.3f s    bare loop %.3f s, ratio %.2fx (mkdir + CLONE_INTO_CGROUP per process, for reference)\n",
		"  bare loop with cgroups", bare.Seconds(), plain.Seconds(), float64(bare)/float64(plain))
	return nil
}

// bareCgroupLoop forks and execs n sleeps, each in a new cgroup under
// parent, and returns how long that took; then it kills and removes them.
func bareCgroupLoop(parent string, n int) (time.Duration, error) {
	path, err := exec.LookPath("sleep")
	if err != nil {
		return 0, err
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devNull.Close()
	base, err := os.MkdirTemp(parent, "bench-bare-")
	if err != nil {
		return 0, err
	}
	defer unix.Rmdir(base)
	var pids []int
	var dirs []string
	defer func() {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, 0, nil)
		}
		for _, d := range dirs {
			unix.Rmdir(d)
		}
	}()
	t0 := time.Now()
	for i := range n {
		d := filepath.Join(base, fmt.Sprintf("s%d.service", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			return 0, err
		}
		dirs = append(dirs, d)
		fd, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, err
		}
		pid, err := syscall.ForkExec(path, []string{"sleep", "3600"}, &syscall.ProcAttr{
			Files: []uintptr{devNull.Fd(), devNull.Fd(), devNull.Fd()},
			Sys:   &syscall.SysProcAttr{Setsid: true, UseCgroupFD: true, CgroupFD: fd},
		})
		unix.Close(fd)
		if err != nil {
			return 0, err
		}
		pids = append(pids, pid)
	}
	return time.Since(t0), nil
}
