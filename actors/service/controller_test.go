package service

import (
	"encoding/json"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

var (
	sprintf       = fmt.Sprintf
	jsonUnmarshal = json.Unmarshal
)

// TestControllerPanicKeepsStateAndProcess: a controller that panics is
// restarted and still knows its running process, which it can stop and
// whose exit it still receives; a request in flight gets an answer.
func TestControllerPanicKeepsStateAndProcess(t *testing.T) {
	h := newHarness(t)
	pid := h.add("  - name: sleeper\n    command: [sleep, \"3600\"]\n")
	if rep := h.call(pid, "start"); !rep.OK {
		t.Fatalf("start: %+v", rep.Error)
	}
	st := h.status(pid)
	if st.State != "running" {
		t.Fatalf("after start: %s", st.State)
	}
	waiting := make(chan wire.Reply, 1)
	h.sys.Root.Send(pid, &Probe{F: func(st *ControllerState) {
		st.wait(replyTarget{client: waiting, reqID: 7})
		panic("injected failure")
	}})
	select {
	case rep := <-waiting:
		if rep.OK || rep.Error.Kind != wire.Timeout || rep.ID != 7 {
			t.Fatalf("abandoned request: %+v", rep)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a request in flight when the controller failed was never answered")
	}
	if after := h.status(pid); after.State != "running" || after.PID != st.PID {
		t.Fatalf("after the panic: state %s pid %d, want running %d", after.State, after.PID, st.PID)
	}
	rep := h.call(pid, "stop")
	var res wire.ActionResult
	json.Unmarshal(rep.Result, &res)
	if !rep.OK || res.Outcome != wire.Stopped {
		t.Fatalf("stop after restart: %+v", rep)
	}
	if err := syscall.Kill(st.PID, 0); err == nil {
		t.Fatalf("process %d still exists after stop", st.PID)
	}
	if !strings.Contains(h.log.String(), "service sleeper is stopped") {
		t.Errorf("the log does not say the service stopped:\n%s", h.log.String())
	}
}
