package service

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/intent"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// keptIntent is the intent record of name in the harness's store (nil:
// none, as for an enabled service).
func (h *harness) keptIntent(name string) *intent.Record {
	h.t.Helper()
	b, err := h.store.Record(intent.RecordKind, name)
	if err != nil {
		h.t.Fatal(err)
	}
	if b == nil {
		return nil
	}
	r, err := intent.Decode(name, b)
	if err != nil {
		h.t.Fatal(err)
	}
	return &r
}

// TestIntentIsKeptBeforeTheReply: "Disabled service X." is durable when
// herd prints it, and so is its undoing; a refused start says why and
// what to do; the respawn limit's disable is kept with its reason.
func TestIntentIsKeptBeforeTheReply(t *testing.T) {
	h := newHarness(t)
	pid := h.add("  - name: web\n    command: [sleep, '3600']\n")
	if r := h.keptIntent("web"); r != nil {
		t.Fatalf("a new service has an intent record: %+v", r)
	}
	if res := h.result(h.call(pid, "disable"), "disable"); res.Outcome != wire.Disabled {
		t.Fatalf("disable: %+v", res)
	}
	r := h.keptIntent("web")
	if r == nil || r.Disabled == nil || r.Disabled.Cause != lifecycle.CauseUser || r.Disabled.Who != "test" || time.Since(r.Disabled.At) > time.Minute {
		t.Fatalf("after disable, kept %+v", r)
	}
	st := h.status(pid)
	if d := st.Disabled; st.Enabled || d == nil || d.By != wire.DisabledByUser || d.Who != "test" || !d.Since.Equal(r.Disabled.At) {
		t.Fatalf("status: enabled %v, disabled %+v", st.Enabled, st.Disabled)
	}
	rep := h.call(pid, "start")
	if rep.OK || !rep.Error.Disabled || rep.Error.Reason != "it was disabled with herd disable (test); run `herd enable web` to start it again" {
		t.Fatalf("start of a disabled service: %+v", rep.Error)
	}
	h.result(h.call(pid, "enable"), "enable")
	if r := h.keptIntent("web"); r != nil {
		t.Fatalf("after enable, kept %+v", r)
	}
	if st := h.status(pid); !st.Enabled || st.Disabled != nil {
		t.Fatalf("status after enable: %+v", st.Disabled)
	}

	crasher := h.add("  - name: crasher\n    command: [sh, -c, 'exit 3']\n    respawn-limit: {count: 1, seconds: 60}\n    respawn-delay: 10ms\n")
	h.call(crasher, "start")
	h.waitStatus(crasher, "the respawn limit", func(st wire.Status) bool { return st.State == wire.StateFailed })
	waitFor(t, "the limit's intent to be kept", func() bool { return h.keptIntent("crasher") != nil })
	r = h.keptIntent("crasher")
	if d := r.Disabled; d == nil || d.Cause != lifecycle.CauseRespawnLimit || d.Reason != "respawn limit hit: 1 respawn within 1m0s" {
		t.Fatalf("kept %+v", r)
	}
	if d := h.status(crasher).Disabled; d == nil || d.By != wire.DisabledByRespawnLimit || d.Reason != r.Disabled.Reason {
		t.Fatalf("status: disabled %+v", d)
	}
	rep = h.call(crasher, "start")
	if rep.OK || !strings.HasPrefix(rep.Error.Reason, "respawn limit hit: 1 respawn within 1m0s; run `herd enable crasher`") {
		t.Fatalf("start after the limit: %+v", rep.Error)
	}
}

// TestBootController: a controller built from a kept intent at the
// daemon's start is disabled as it was and refuses an auto-start.
func TestBootController(t *testing.T) {
	h := newHarness(t)
	specs, errs := config.Parse("test.yaml", []byte("services:\n  - name: web\n    command: [sleep, '3600']\n"), config.SystemAccounts{})
	if err := errs.Err(); err != nil {
		t.Fatal(err)
	}
	lg, err := h.sys.Root.SpawnNamed(logger.NewProps("web", filepath.Join(t.TempDir(), "web.log"), -1, specs[0].LogRotate, h.log.logf), "registry/log:web")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour).Round(time.Second)
	d := &lifecycle.Disabled{At: at, Cause: lifecycle.CauseUser, Who: "uid 1000"}
	var pid *actor.PID
	if pid, err = h.sys.Root.SpawnNamed(BootController(h.env, specs[0], d, lg).Props(), ControllerPID(h.env.Registry, "web").Id); err != nil {
		t.Fatal(err)
	}
	h.controllers["web"] = pid
	h.sys.Root.Send(pid, &PeerRequest{Op: lifecycle.PeerStart, From: h.env.Registry})
	st := h.status(pid)
	if st.State != wire.StateStopped || st.Enabled || st.Disabled == nil || st.Disabled.Who != "uid 1000" || !st.Disabled.Since.Equal(at) {
		t.Fatalf("booted: %s, enabled %v, disabled %+v", st.State, st.Enabled, st.Disabled)
	}
	waitFor(t, "the auto-start's refusal", func() bool {
		h.reg.mu.Lock()
		defer h.reg.mu.Unlock()
		return len(h.reg.replies) == 1 && h.reg.replies[0].Result.Refused
	})
}
