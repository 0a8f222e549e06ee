package leftover

import (
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/services"
)

// escapee starts a process in a session of its own that no record names,
// as a service's process that left its session and outlived its main
// process would be.
func escapee(t *testing.T) Proc {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p, err := ReadProc(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// records stands for the history store.
type records [][]byte

func (r records) Records(kind string) ([][]byte, error) { return r, nil }

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(strings.ReplaceAll(format, "%", "")))
}

// fakeCgroups stands for the cgroups of a daemon: the listing Previous
// gives, membership, and a kill that is recorded.
type fakeCgroups struct {
	members map[string][]int
	killed  []string
	emptied []string
}

func (c *fakeCgroups) inputs(in Inputs) Inputs {
	in.Cgroups = c.members
	in.InCgroup = func(service string, pid int) bool {
		for _, p := range c.members[service] {
			if p == pid {
				return true
			}
		}
		return false
	}
	in.KillCgroup = func(service string) { c.killed = append(c.killed, service) }
	in.EmptyCgroup = func(service string) { c.emptied = append(c.emptied, service) }
	return in
}

// TestRecoverCgroupAlone: processes found by their service's cgroup alone
// (no record names them: the daemon died before its record was written)
// are stopped, whatever their session.
func TestRecoverCgroupAlone(t *testing.T) {
	p := escapee(t)
	cg := &fakeCgroups{members: map[string][]int{"svc": {p.PID}, "empty": nil}}
	var log logLines
	out := Recover(cg.inputs(Inputs{
		Store: records{},
		Specs: map[string]*services.Spec{"svc": {Name: "svc", Command: []string{"sleep", "1000"}, StopTimeout: time.Second}},
		Logf:  log.logf,
	}))
	if st, err := readStat(p.PID); err == nil && st.State != 'Z' {
		t.Fatalf("process %d, in the cgroup of svc, was not stopped", p.PID)
	}
	if len(out.Adopted) != 0 || len(out.Events) != 1 {
		t.Fatalf("outcome %+v", out)
	}
	e := out.Events[0]
	if e.Kind != history.KindStoppedLeftover || e.Service != "svc" || e.PID != p.PID ||
		!strings.Contains(e.Message, "no record says which of them is its main process") {
		t.Errorf("event %+v", e)
	}
}

// TestRecoverAdoptsWithCgroup: a recorded main process that still runs is
// adopted; what else is in the cgroup (an escapee in a session of its
// own) runs on with it and is named in the event.
func TestRecoverAdoptsWithCgroup(t *testing.T) {
	_, r := started(t, "exec sleep 1000")
	waitFind(t, r, 1)
	other := escapee(t)
	cg := &fakeCgroups{members: map[string][]int{"svc": {r.PID, other.PID}}}
	var log logLines
	out := Recover(cg.inputs(Inputs{
		Store: records{r.Encode()},
		Specs: map[string]*services.Spec{"svc": {Name: "svc", Command: r.Command}},
		UID:   r.UID,
		Logf:  log.logf,
	}))
	a, ok := out.Adopted["svc"]
	if !ok || a.PID != r.PID {
		t.Fatalf("adopted %+v, want svc's process %d (log %q)", out.Adopted, r.PID, log.lines)
	}
	a.PIDFD.Close()
	if len(out.Events) != 1 || out.Events[0].Kind != history.KindAdopted || !strings.Contains(out.Events[0].Message, "with 1 more process") {
		t.Errorf("events %+v", out.Events)
	}
	for _, pid := range []int{r.PID, other.PID} {
		if st, err := readStat(pid); err != nil || st.State == 'Z' {
			t.Errorf("process %d of an adopted service was stopped", pid)
		}
	}
}

// TestRecoverStopsChangedCommand: a service whose command changed is not
// adopted: its processes are stopped with the stop signal recorded, and
// its record cleared; the cgroup is killed when the stop comes to
// SIGKILL.
func TestRecoverStopsChangedCommand(t *testing.T) {
	_, r := started(t, "trap '' TERM; sleep 1000 & wait")
	ignoresTERM(t, waitFind(t, r, 2))
	r.StopTimeout = 100 * time.Millisecond
	tab, _ := Scan()
	var pids []int
	for _, p := range tab.Find(r, r.BootID, NewGuard()).Procs() {
		pids = append(pids, p.PID)
	}
	cg := &fakeCgroups{members: map[string][]int{"svc": pids}}
	var log logLines
	out := Recover(cg.inputs(Inputs{
		Store: records{r.Encode()},
		Specs: map[string]*services.Spec{"svc": {Name: "svc", Command: []string{"sleep", "60"}}},
		UID:   r.UID,
		Logf:  log.logf,
	}))
	if len(out.Adopted) != 0 || len(out.Events) != 1 {
		t.Fatalf("outcome %+v", out)
	}
	e := out.Events[0]
	if e.Kind != history.KindStoppedLeftover || !strings.Contains(e.Message, "its command changed") || !strings.Contains(e.Message, "needed SIGKILL") {
		t.Errorf("event %+v", e)
	}
	if len(cg.killed) != 1 || cg.killed[0] != "svc" || len(cg.emptied) != 1 || cg.emptied[0] != "svc" {
		t.Errorf("cgroups killed: %q, emptied %q: want svc's", cg.killed, cg.emptied)
	}
	var cleared bool
	for _, rec := range out.Records {
		if rec.Kind == RecordKind && rec.Key == "svc" {
			got, err := DecodeRecord(rec.Value)
			cleared = err == nil && got.PID == 0
		}
	}
	if !cleared {
		t.Errorf("records %+v: svc's is not cleared", out.Records)
	}
}
