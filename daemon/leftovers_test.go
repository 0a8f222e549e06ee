package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/leftover"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// unrelated starts a process that is no service's (never waited for:
// the daemon's reaper reaps it, see startDaemon) and returns what /proc
// says of it.
func unrelated(t *testing.T) leftover.Proc {
	t.Helper()
	cmd := exec.Command("sleep", "3600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(cmd.Process.Pid, syscall.SIGKILL) })
	p, err := leftover.ReadProc(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// stateWithRecords makes a state directory whose history holds recs, as a
// daemon killed with them in place would have left it.
func stateWithRecords(t *testing.T, recs ...leftover.Record) string {
	t.Helper()
	state := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := history.Open(filepath.Join(state, "history"))
	if err != nil {
		t.Fatal(err)
	}
	var hr []history.Record
	for _, r := range recs {
		hr = append(hr, history.Record{Kind: leftover.RecordKind, Key: r.Service, Value: r.Encode()})
	}
	if err := store.Write(nil, hr, true); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return state
}

func alive(pid int) bool {
	p, err := leftover.ReadStat(pid)
	return err == nil && p.State != 'Z'
}

func leftoverEvents(t *testing.T, d *Daemon) []history.Event {
	t.Helper()
	evs, err := d.history.Scan(history.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var out []history.Event
	for _, e := range evs {
		if e.Kind == history.KindAdopted || e.Kind == history.KindStoppedLeftover {
			out = append(out, e)
		}
	}
	return out
}

const leftoverConfig = `services:
  - name: web
    command: [sleep, "3600"]
`

// TestStaleRecordsSignalNothing: records whose PID now names an unrelated
// process (another start time), or that were made before a reboot (the
// right start time, another boot id), neither adopt nor stop it; the
// service starts anew. The same record with the right start time and
// boot does stop it: what spared it was the check.
func TestStaleRecordsSignalNothing(t *testing.T) {
	p := unrelated(t)
	boot, err := leftover.BootID()
	if err != nil {
		t.Fatal(err)
	}
	rec := func(service string) leftover.Record {
		return leftover.Record{Service: service, BootID: boot, PID: p.PID, Start: p.Start, PGID: p.PGID, SID: p.SID,
			UID: uint32(os.Geteuid()), Command: []string{"sleep", "3600"}}
	}
	reused, rebooted := rec("web"), rec("gone")
	reused.Start++ // the recorded process started at another time
	rebooted.BootID = "00000000-0000-4000-8000-000000000000"
	state := stateWithRecords(t, reused, rebooted)
	d, log := startDaemon(t, leftoverConfig, func(o *Options) { o.StateDir = state })
	var st wire.Status
	waitFor(t, "web running", func() bool {
		return call(t, d, wire.Request{Action: "status", Service: "web"}, &st) == nil && st.State == "running"
	})
	if st.PID == p.PID || !st.Adopted.IsZero() {
		t.Errorf("web adopted process %d, which merely reuses the PID of its record", p.PID)
	}
	if !alive(p.PID) {
		t.Fatalf("process %d, named by stale records, was signalled", p.PID)
	}
	if evs := leftoverEvents(t, d); len(evs) > 0 {
		t.Errorf("history has %+v", evs)
	}
	// The daemon's log is written in bursts: a line may come a moment
	// after the state the test waited for.
	for _, want := range []string{"its PID was reused; left alone", "made before the machine last booted"} {
		waitFor(t, "the log to say "+want, func() bool { return strings.Contains(log.String(), want) })
	}
	d.Shutdown()

	// The control: a record that names it as it is.
	state = stateWithRecords(t, rec("gone"))
	d, _ = startDaemon(t, leftoverConfig, func(o *Options) { o.StateDir = state })
	if alive(p.PID) {
		t.Fatalf("process %d, named by a true record of a service no longer defined, was not stopped", p.PID)
	}
	var evs []history.Event
	waitFor(t, "the stopped-leftover event", func() bool { evs = leftoverEvents(t, d); return len(evs) > 0 })
	if len(evs) != 1 || evs[0].Kind != history.KindStoppedLeftover || evs[0].Service != "gone" || evs[0].PID != p.PID ||
		!strings.Contains(evs[0].Message, "it is no longer defined") {
		t.Errorf("history has %+v, want one stopped-leftover of gone, process %d", evs, p.PID)
	}
}
