package cli

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestIntentTexts: why a service is disabled, that it stays so across
// restarts, and what to do; never "disabled" beside "Will be
// respawned"; a scale that holds; plurals.
func TestIntentTexts(t *testing.T) {
	since := now.Add(-time.Minute)
	for _, tc := range []struct {
		name     string
		args     []string
		reply    wire.Reply
		wantOut  string
		wantCode int
	}{
		{
			name: "disabled by herd disable",
			args: []string{"status", "web", "-n", "0"},
			reply: ok(wire.Status{Name: "web", State: "running", Since: since, PID: 7, Respawn: true,
				Disabled: &wire.DisabledInfo{Since: since, By: wire.DisabledByUser, Who: "uid 0"}, RespawnsLastHour: 1}),
			wantOut: `● Status of web:
  It is running since 17:59:03 (1 minute ago).
  Main PID: 7
  It is disabled (since 17:59:03, by herd disable, uid 0).
  It stays disabled across restarts of shepherd, until ` + "`herd enable web`" + `.
  Provides: web
  Will not be respawned while it is disabled.
  Respawned 1 time in the last hour.
`,
		},
		{
			name: "disabled by the respawn limit",
			args: []string{"status", "crasher", "-n", "0"},
			reply: ok(wire.Status{Name: "crasher", State: "failed", Failing: true, FailedAt: since, FailReason: "respawn limit hit: 3 respawns within 1m0s", Respawn: true,
				Disabled: &wire.DisabledInfo{Since: since, By: wire.DisabledByRespawnLimit, Reason: "respawn limit hit: 3 respawns within 1m0s"}, RespawnsLastHour: 3}),
			wantOut: `● Status of crasher:
  It is stopped (failing).
  Failed to start at 17:59:03.
  Reason: respawn limit hit: 3 respawns within 1m0s
  It is disabled (since 17:59:03): respawn limit hit: 3 respawns within 1m0s.
  It stays disabled across restarts of shepherd, until ` + "`herd enable crasher`" + `.
  Provides: crasher
  Will not be respawned while it is disabled.
  Respawned 3 times in the last hour.
`,
		},
		{
			name: "a scaled group",
			args: []string{"status", "pool", "-n", "0"},
			reply: ok(wire.Status{Name: "pool", State: "running", Since: since, Enabled: true, Respawn: true, DeclaredInstances: 2,
				Instances: []wire.Instance{{Name: "pool.1", State: "running", PID: 11}, {Name: "pool.2", State: "running", PID: 12}, {Name: "pool.3", State: "running", PID: 13}}}),
			wantOut: `● Status of pool:
  It is running since 17:59:03 (1 minute ago).
  Instances: 3 running (PIDs 11 12 13)
  Scaled to 3 instances with herd scale (its file says 2); kept across restarts until the file says another number.
  It is enabled.
  Provides: pool
  Will be respawned.
`,
		},
		{
			name:     "a start refused says why and what to do",
			args:     []string{"start", "crasher"},
			reply:    fail(wire.Error{Kind: wire.StartFailed, Service: "crasher", Disabled: true, Reason: "respawn limit hit: 3 respawns within 1m0s; run `herd enable crasher` to start it again"}),
			wantOut:  "Service crasher is currently disabled.\n  respawn limit hit: 3 respawns within 1m0s; run `herd enable crasher` to start it again\n",
			wantCode: cmdutil.ExitFailure,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			var got wire.Request
			f := &cmdutil.Factory{Out: &out, Err: &errOut, Now: func() time.Time { return now },
				Connect: func(context.Context, string) (cmdutil.Client, error) {
					return fakeClient{reply: tc.reply, got: &got}, nil
				}}
			if code := Run(f, tc.args); code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errOut.String())
			}
			if out.String() != tc.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), tc.wantOut)
			}
		})
	}
}
