package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/actors/execrunner"

	"github.com/shepherd-go/shepherd/internal/proc"
)

// TestExecRunnerFailureDoesNotRunTheCommandAgain (issue 15, defect 7): an
// exec runner that panics is stopped, not restarted: its command ran
// once, is killed, and the caller is told. Before, the restarted runner
// started the fleet command a second time, and its caller never heard.
func TestExecRunnerFailureDoesNotRunTheCommandAgain(t *testing.T) {
	d, _ := startDaemon(t, "services:\n  - name: idle\n")
	runs := filepath.Join(t.TempDir(), "runs")
	results := make(chan execrunner.Result, 1)
	pid := d.spawnExec([]string{"sh", "-c", "echo run >> " + runs + "; exec sleep 3600"}, results)
	count := func() int {
		b, _ := os.ReadFile(runs)
		return strings.Count(string(b), "run\n")
	}
	waitFor(t, "the command to run", func() bool { return count() == 1 })
	d.system.Root.Send(pid, &execrunner.Probe{F: func() { panic("injected failure") }})
	var res execrunner.Result
	waitFor(t, "an answer, or a second run", func() bool {
		select {
		case res = <-results:
			return true
		default:
			return count() > 1
		}
	})
	if n := count(); n != 1 {
		t.Fatalf("the command ran %d times", n)
	}
	if res.Err == nil || !strings.Contains(res.Err.Error(), "internal error") {
		t.Fatalf("the caller was told %+v", res)
	}
	waitFor(t, "the command to be killed", func() bool { return !processAlive(res.PID) })
}

// processAlive says whether pid exists and has not ended.
func processAlive(pid int) bool {
	p, err := proc.ReadProcStat(pid)
	return err == nil && p.State != 'Z'
}
