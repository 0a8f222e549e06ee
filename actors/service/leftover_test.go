package service

import (
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/internal/leftover"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/config"
)

// record is the service's process record in the store (PID 0 if none).
func (h *harness) record(name string) leftover.Record {
	h.t.Helper()
	b, err := h.store.Record(leftover.RecordKind, name)
	if err != nil {
		h.t.Fatal(err)
	}
	if b == nil {
		return leftover.Record{}
	}
	r, err := leftover.DecodeRecord(b)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// TestProcRecordFollowsTheMainProcess: the record of a service's main
// process is durable when its start is answered, names the process as
// /proc does (start time, group, session), follows a respawn, and is
// cleared by a stop.
func TestProcRecordFollowsTheMainProcess(t *testing.T) {
	h := newHarness(t)
	pid := h.add("  - name: sleeper\n    command: [sleep, \"3600\"]\n    stop-signal: SIGINT\n    respawn-delay: 1ms\n")
	if rep := h.call(pid, "start"); !rep.OK {
		t.Fatalf("start: %+v", rep.Error)
	}
	st := h.status(pid)
	r := h.record("sleeper")
	p, err := leftover.ReadStat(st.PID)
	if err != nil {
		t.Fatal(err)
	}
	boot, _ := leftover.BootID()
	if r.PID != st.PID || r.Start != p.Start || r.PGID != st.PID || r.SID != st.PID || r.BootID != boot ||
		r.StopSignal != syscall.SIGINT || len(r.Command) != 2 || r.Launcher {
		t.Fatalf("record %+v of process %+v", r, p)
	}
	syscall.Kill(st.PID, syscall.SIGKILL)
	var again leftover.Record
	waitFor(t, "the record of the respawned process", func() bool {
		again = h.record("sleeper")
		return again.PID != 0 && again.PID != st.PID
	})
	if now := h.status(pid); now.PID != again.PID {
		t.Fatalf("record names %d, the service runs %d", again.PID, now.PID)
	}
	if rep := h.call(pid, "stop"); !rep.OK {
		t.Fatalf("stop: %+v", rep.Error)
	}
	if r := h.record("sleeper"); r.PID != 0 {
		t.Fatalf("after the stop, the record still names %+v", r)
	}
}

// adoptedService runs the controller of a service `name` (sleep 3600)
// with a process started outside it, as one a previous daemon left.
func (h *harness) adoptedService(name string) (*exec.Cmd, leftover.Adoption, *actor.PID) {
	t := h.t
	t.Helper()
	specs, errs := config.Parse("test.yaml", []byte("services:\n  - name: "+name+"\n    command: [sleep, \"3600\"]\n    respawn-delay: 1ms\n"), config.SystemAccounts{})
	if err := errs.Err(); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "3600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	p, err := leftover.ReadProc(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	held, err := leftover.Hold(p)
	if err != nil {
		t.Fatal(err)
	}
	a := leftover.Adoption{PID: p.PID, PIDFD: held.File(), StartedAt: time.Now()}
	lg, err := h.sys.Root.SpawnNamed(logger.NewProps(name, filepath.Join(t.TempDir(), name+".log"), -1, specs[0].LogRotate, h.log.logf), "registry/log:"+name)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := h.sys.Root.SpawnNamed(AdoptedController(h.env, specs[0], a, nil, lg).Props(), ControllerPID(h.env.Registry, name).Id)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, a, pid
}

// TestAdoptedController: a controller given a process a previous daemon
// left runs with it as its main process (its status says it was
// adopted), sees its exit through its pidfd (it is not our child) and
// respawns a process of its own, which is no longer said to be adopted.
func TestAdoptedController(t *testing.T) {
	h := newHarness(t)
	cmd, a, pid := h.adoptedService("old")
	st := h.status(pid)
	if st.State != "running" || st.PID != a.PID || st.Adopted.IsZero() {
		t.Fatalf("adopted: %+v", st)
	}
	cmd.Process.Kill()
	st = h.waitStatus(pid, "a process of its own", func(s wire.Status) bool { return s.State == "running" && s.PID != a.PID && s.PID != 0 })
	if !st.Adopted.IsZero() {
		t.Errorf("a process of its own still says adopted: %+v", st)
	}
	if rep := h.call(pid, "stop"); !rep.OK {
		t.Fatalf("stop: %+v", rep.Error)
	}
}

// TestAdoptedControllerStops: stop works on an adopted process.
func TestAdoptedControllerStops(t *testing.T) {
	h := newHarness(t)
	_, a, pid := h.adoptedService("old")
	rep := h.call(pid, "stop")
	var res wire.ActionResult
	jsonUnmarshal(rep.Result, &res)
	if !rep.OK || res.Outcome != wire.Stopped {
		t.Fatalf("stop: %+v", rep)
	}
	waitFor(t, "the adopted process to be gone", func() bool {
		p, err := leftover.ReadStat(a.PID)
		return err != nil || p.State == 'Z'
	})
	if st := h.status(pid); st.State != "stopped" {
		t.Fatalf("after stop: %+v", st)
	}
}
