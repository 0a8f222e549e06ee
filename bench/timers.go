package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// timersBench runs a daemon of its own with n timer services, all due in
// the same second, each touching a file of its own, and measures:
//   - its CPU time while the n timers wait (none: one OS timer each, no
//     polling);
//   - from the due second to the last file touched, against a bare
//     fork/exec loop of n `touch` processes (from its start to the last
//     file touched), measured just before.
func timersBench(bin, dir string, n int) error {
	out := filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	b := &bench{bin: bin, dir: dir, sock: filepath.Join(dir, "run", "socket"), args: []string{"--no-cgroup"}}
	// Due once the daemon has started and has been watched idle: with n
	// services a start takes a second or two.
	due := time.Now().UTC().Truncate(time.Second).Add(12 * time.Second)
	var sb strings.Builder
	sb.WriteString("services:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  - name: timer-%04d\n    command: [touch, %q]\n    timer: {calendar: %q}\n",
			i, filepath.Join(out, fmt.Sprintf("t%04d", i)), due.Format(time.DateTime)+" UTC")
	}
	if err := os.WriteFile(filepath.Join(dir, "services.yaml"), []byte(sb.String()), 0o644); err != nil {
		return err
	}
	bare, err := bareTouchLoop(filepath.Join(dir, "bare"), n)
	if err != nil {
		return err
	}
	if err := b.startDaemon(); err != nil {
		return err
	}
	defer b.stopDaemon()
	// Idle: from a second after the start until a second before due.
	time.Sleep(time.Second)
	idle := time.Until(due) - time.Second
	if idle < time.Second {
		return fmt.Errorf("timers: the daemon took too long to start (due in %v)", time.Until(due))
	}
	c0, err := cpuTicks(b.daemon.Process.Pid)
	if err != nil {
		return err
	}
	time.Sleep(idle)
	c1, err := cpuTicks(b.daemon.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %8d ms   over %.1f s with %d timers waiting (target: 0; one OS timer each, no polling)\n",
		"timers idle, daemon CPU", (c1-c0)*10, idle.Seconds(), n)
	last, err := waitTouched(out, n, due.Add(60*time.Second))
	if err != nil {
		return err
	}
	report("timers due at once", last.Sub(due), bare, 1.5)
	return nil
}

// bareTouchLoop forks and execs n `touch FILE` and returns the time from
// its start to the last file touched.
func bareTouchLoop(dir string, n int) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	path, err := exec.LookPath("touch")
	if err != nil {
		return 0, err
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, err
	}
	defer devNull.Close()
	pids := make([]int, 0, n)
	t0 := time.Now()
	for i := range n {
		pid, err := syscall.ForkExec(path, []string{"touch", filepath.Join(dir, fmt.Sprintf("t%04d", i))}, &syscall.ProcAttr{
			Files: []uintptr{devNull.Fd(), devNull.Fd(), devNull.Fd()},
			Sys:   &syscall.SysProcAttr{Setsid: true},
		})
		if err != nil {
			return 0, err
		}
		pids = append(pids, pid)
	}
	for _, pid := range pids {
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
	}
	last, err := waitTouched(dir, n, time.Now().Add(10*time.Second))
	if err != nil {
		return 0, err
	}
	return last.Sub(t0), nil
}

// waitTouched waits until dir holds n files and returns the latest of
// their modification times.
func waitTouched(dir string, n int, deadline time.Time) (time.Time, error) {
	for {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return time.Time{}, err
		}
		if len(ents) >= n {
			var last time.Time
			for _, e := range ents {
				info, err := e.Info()
				if err != nil {
					return time.Time{}, err
				}
				if m := info.ModTime(); m.After(last) {
					last = m
				}
			}
			return last, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("timers: %d of %d files touched by %v", len(ents), n, deadline.Format(time.TimeOnly))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cpuTicks is a process's user and system CPU time, in clock ticks
// (1/100 s), from /proc/PID/stat.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too short", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	return u + st, nil
}
