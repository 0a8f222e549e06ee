package insightbench

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

// The helpers of bench's main package that this one needs (a package
// main cannot be imported).

// daemon is one shepherd process.
type daemon struct {
	cmd  *exec.Cmd
	dir  string
	sock string
}

// startNamed starts a shepherd in dir with config, listening nowhere.
func startNamed(bin, dir, config string) (*daemon, error) {
	d := &daemon{dir: dir, sock: filepath.Join(dir, "run", "socket")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		return nil, err
	}
	pid := filepath.Join(dir, "pid")
	d.cmd = exec.Command(filepath.Join(bin, "shepherd"), "-c", cfg, "-s", d.sock,
		"--state", filepath.Join(dir, "state"), "--pid", pid, "-l", filepath.Join(dir, "log"))
	// Should the bench be killed, its daemons go too.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	for range 2400 {
		if _, err := os.Stat(pid); err == nil {
			return d, nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return nil, fmt.Errorf("shepherd in %s did not start within 60 s", dir)
}

func (d *daemon) herd(bin string, args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(bin, "herd"), append([]string{"-s", d.sock}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("herd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (d *daemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
}

// cpuTime is the user+system time the daemons have used.
func cpuTime(ds ...*daemon) time.Duration {
	var total time.Duration
	for _, d := range ds {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.cmd.Process.Pid))
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

// vmRSS is a memory field of /proc/PID/status, in kB.
func vmRSS(pid int, field string) (int, error) {
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

func mid(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
