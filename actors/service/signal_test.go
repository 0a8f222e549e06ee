package service

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// pidnsEnv marks the test binary that runs inside a PID namespace of its
// own, where the test decides which PID the next process gets.
const pidnsEnv = "SHEPHERD_TEST_IN_PIDNS"

// inPIDNamespace runs the calling test again in a new PID namespace (as
// its PID 1, with its own /proc) and reports false; inside, it reports
// true and the test goes on.
func inPIDNamespace(t *testing.T) bool {
	t.Helper()
	if os.Getenv(pidnsEnv) != "" {
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("PID namespaces need root (CI runs as root)")
	}
	run := "^" + strings.ReplaceAll(t.Name(), "/", "$/^") + "$"
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", os.Args[0], "-test.run", run, "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), pidnsEnv+"=1")
	// No reaper runs now (each harness stops its own): Wait is ours.
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("in a PID namespace: %v\n%s", err, out)
	}
	return false
}

// sigkillPending says whether SIGKILL was sent to process pid: it stays
// in the shared pending set until the process is reaped.
func sigkillPending(pid int) bool {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return true // gone, then: killed and reaped
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), ":")
		if k == "ShdPnd" || k == "SigPnd" {
			mask, _ := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if mask&(1<<(syscall.SIGKILL-1)) != 0 {
				return true
			}
		}
	}
	return false
}

// stopping starts a service whose process ignores its stop signal, asks
// for its stop and returns the process's PID and where the stop's answer
// comes.
func stopping(h *harness, name, command string) (*actor.PID, int, <-chan wire.Reply) {
	h.t.Helper()
	pid := h.add(fmt.Sprintf("  - name: %s\n    command: %s\n    stop-signal: SIGWINCH\n    stop-timeout: 1h\n", name, command))
	h.result(h.call(pid, "start"), "start")
	main := h.status(pid).PID
	stopped := h.async(pid, "stop")
	h.waitStatus(pid, "stopping", func(st wire.Status) bool { return st.State == wire.StateStopping })
	return pid, main, stopped
}

// TestStopKillsWhatItsProcessLeftInItsGroup: the main process exits
// during a stop; the SIGKILL that follows reaches the process it left in
// its group (through the handle of the leader, already reaped).
func TestStopKillsWhatItsProcessLeftInItsGroup(t *testing.T) {
	h := newHarness(t)
	file := filepath.Join(t.TempDir(), "member")
	_, leader, stopped := stopping(h, "svc", fmt.Sprintf(`[sh, -c, 'sleep 3600 & echo $! > %s; exec sleep 3600']`, file))
	var member int
	waitFor(t, "the member's PID", func() bool {
		b, _ := os.ReadFile(file)
		member, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return member != 0
	})
	syscall.Kill(leader, syscall.SIGKILL)
	if res := h.result(h.await(stopped, "stop"), "stop"); res.Outcome != wire.Stopped {
		t.Fatalf("stop: %s", res.Outcome)
	}
	waitFor(t, "the member to be killed", func() bool { return sigkillPending(member) })
}

// TestSignalNeverReachesAReusedPID (issue 15, defect 4): the main process
// is reaped while its controller is busy, and its PID is given to an
// unrelated process before the controller handles the exit. The SIGKILL
// the stop sends after the exit (to what the process left in its group)
// must not reach that process, whether it leads a group of that number or
// not. Before, kill(-pid) hit the first and its fallback kill(pid) the
// second.
func TestSignalNeverReachesAReusedPID(t *testing.T) {
	if !inPIDNamespace(t) {
		return
	}
	for _, tc := range []struct {
		name   string
		setsid bool
	}{
		{name: "a group leader", setsid: true},
		{name: "in another group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			// A thread of the test may take the PID first: then try
			// again with another.
			for attempt := 1; ; attempt++ {
				if reusedPIDScenario(t, h, fmt.Sprintf("svc%d", attempt), tc.setsid) {
					return
				}
				if attempt == 5 {
					t.Fatal("could not give the reaped PID to a new process")
				}
			}
		})
	}
}

// reusedPIDScenario runs the scenario once; it reports false when the
// new process could not be given the reaped PID.
func reusedPIDScenario(t *testing.T, h *harness, name string, setsid bool) bool {
	pid, main, stopped := stopping(h, name, `[sleep, "3600"]`)
	// The controller is held busy, so that the exit waits in its
	// mailbox while the PID is reused.
	busy, release := make(chan struct{}), make(chan struct{})
	h.sys.Root.Send(pid, &Probe{F: func(*ControllerState) { close(busy); <-release }})
	<-busy
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	syscall.Kill(main, syscall.SIGKILL)
	waitFor(t, "the process to be reaped", func() bool { _, err := proc.ReadProcStat(main); return err != nil })
	if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(main-1)), 0o644); err != nil {
		t.Fatal(err)
	}
	other := exec.Command("sleep", "3600")
	other.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	// Killed through its pidfd (os.Process holds one); the harness's
	// reaper reaps it.
	defer other.Process.Kill()
	if other.Process.Pid != main {
		t.Logf("the new process got PID %d, not %d", other.Process.Pid, main)
		return false
	}
	close(release)
	released = true
	if res := h.result(h.await(stopped, "stop"), "stop"); res.Outcome != wire.Stopped {
		t.Fatalf("stop: %s", res.Outcome)
	}
	// The SIGKILL after the exit was sent before the stop was answered.
	if sigkillPending(main) {
		t.Errorf("process %d, which got the PID of the service's reaped process, was sent SIGKILL", main)
	}
	return true
}
