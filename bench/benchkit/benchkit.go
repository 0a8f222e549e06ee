// Package benchkit holds what the benchmark sections share: a shepherd
// started in a directory of its own, herd run against it, and the
// figures read from /proc.
package benchkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Daemon is one shepherd process of a benchmark.
type Daemon struct {
	Cmd  *exec.Cmd
	Dir  string
	Sock string
}

// StartNamed starts a shepherd in dir with config (and args), and
// returns once it wrote its pid file.
func StartNamed(bin, dir, config string, args ...string) (*Daemon, error) {
	return StartWith(dir, config, func(shepherdArgs []string) *exec.Cmd {
		return exec.Command(filepath.Join(bin, "shepherd"), append(shepherdArgs, args...)...)
	})
}

// StartWith is StartNamed through the command that command makes of the
// shepherd's own arguments (one that runs it in a namespace, say: it
// must exec the shepherd, so that its PID is the daemon's).
func StartWith(dir, config string, command func(shepherdArgs []string) *exec.Cmd) (*Daemon, error) {
	d := &Daemon{Dir: dir, Sock: filepath.Join(dir, "run", "socket")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, err
	}
	pid := filepath.Join(dir, "pid")
	d.Cmd = command([]string{"-c", cfg, "-s", d.Sock, "--state", filepath.Join(dir, "state"), "--pid", pid, "-l", filepath.Join(dir, "log")})
	// Should the bench be killed, its daemons go too.
	d.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := d.Cmd.Start(); err != nil {
		return nil, err
	}
	// A loaded machine (a hundred daemons starting at once) may take a
	// while.
	for range 2400 {
		if _, err := os.Stat(pid); err == nil {
			return d, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	d.Cmd.Process.Kill()
	d.Cmd.Wait()
	return nil, fmt.Errorf("shepherd in %s did not start within 60 s", dir)
}

// Herd runs herd against the daemon and returns its output.
func (d *Daemon) Herd(bin string, args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(bin, "herd"), append([]string{"-s", d.Sock}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("herd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Stop ends the daemon and waits for it.
func (d *Daemon) Stop() {
	d.Cmd.Process.Signal(syscall.SIGTERM)
	d.Cmd.Wait()
}

// CPUTime is the user+system time the daemons have used.
func CPUTime(ds ...*Daemon) time.Duration {
	var total time.Duration
	for _, d := range ds {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.Cmd.Process.Pid))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		var u, sys int64
		fmt.Sscan(f[11], &u)
		fmt.Sscan(f[12], &sys)
		total += time.Duration(u+sys) * 10 * time.Millisecond // USER_HZ = 100
	}
	return total
}

// VMRSS is a memory field of /proc/PID/status, in kB.
func VMRSS(pid int, field string) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s for %d", field, pid)
}

// Mid is the median of ds.
func Mid(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// MS is d in milliseconds.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
