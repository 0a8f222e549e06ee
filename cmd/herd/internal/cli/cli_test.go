package cli

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// fakeClient answers every request with reply and records the first.
type fakeClient struct {
	reply wire.Reply
	got   *wire.Request
}

func (c fakeClient) Call(_ context.Context, req wire.Request) (wire.Reply, error) {
	if c.got.Action == "" {
		*c.got = req
	}
	return c.reply, nil
}

func (c fakeClient) Stream(_ context.Context, req wire.Request, fn func(wire.Reply) error) error {
	*c.got = req
	return fn(c.reply)
}

func (c fakeClient) Close() error { return nil }

func ok(v any) wire.Reply { return wire.OKReply(1, v) }

func fail(e wire.Error) wire.Reply { return wire.ErrReply(1, &e) }

var now = time.Date(2026, 11, 24, 18, 0, 3, 0, time.Local)

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		reply    wire.Reply
		wantReq  wire.Request
		wantOut  string
		wantErr  string
		wantCode int
	}{
		{
			name:    "start prints every step",
			args:    []string{"start", "web"},
			reply:   ok(wire.ActionResult{Service: "web", Outcome: wire.Started, Steps: []wire.Step{{Service: "net", Outcome: wire.Started}, {Service: "web", Outcome: wire.Started}}}),
			wantReq: wire.Request{Action: "start", Service: "web"},
			wantOut: "Service net has been started.\nService web has been started.\n",
		},
		{
			name:    "already running",
			args:    []string{"start", "httpd"},
			reply:   ok(wire.ActionResult{Service: "web", Outcome: wire.AlreadyRunning}),
			wantReq: wire.Request{Action: "start", Service: "httpd"},
			wantOut: "Service web is already running.\n",
		},
		{
			name:    "stopping a stopped service prints nothing",
			args:    []string{"stop", "web"},
			reply:   ok(wire.ActionResult{Service: "web", Outcome: wire.NotRunning, Steps: []wire.Step{{Service: "web", Outcome: wire.NotRunning}}}),
			wantReq: wire.Request{Action: "stop", Service: "web"},
		},
		{
			name:     "start failed",
			args:     []string{"start", "web"},
			reply:    fail(wire.Error{Kind: wire.StartFailed, Service: "web", Message: "exec: no such file"}),
			wantReq:  wire.Request{Action: "start", Service: "web"},
			wantOut:  "Service web could not be started.\n",
			wantErr:  "herd: error: failed to start service web\n",
			wantCode: cmdutil.ExitFailure,
		},
		{
			name: "start failed, with its reason and last lines",
			args: []string{"start", "web"},
			reply: fail(wire.Error{Kind: wire.StartFailed, Service: "web", Message: "failed to start service web: exited with code 1 after 30ms, before min-uptime 1s",
				Reason: "exited with code 1 after 30ms, before min-uptime 1s", Recent: []string{"2026-11-24 17:59:28 cannot bind"}}),
			wantReq:  wire.Request{Action: "start", Service: "web"},
			wantOut:  "Service web could not be started.\n  exited with code 1 after 30ms, before min-uptime 1s\n  Recent messages:\n    2026-11-24 17:59:28 cannot bind\n",
			wantCode: cmdutil.ExitFailure,
		},
		{
			name:     "disabled",
			args:     []string{"start", "web"},
			reply:    fail(wire.Error{Kind: wire.StartFailed, Service: "web", Disabled: true}),
			wantReq:  wire.Request{Action: "start", Service: "web"},
			wantOut:  "Service web is currently disabled.\n",
			wantCode: cmdutil.ExitFailure,
		},
		{
			name:     "requirement failed",
			args:     []string{"start", "web"},
			reply:    fail(wire.Error{Kind: wire.DependencyFailed, Service: "web", Dependency: "db"}),
			wantReq:  wire.Request{Action: "start", Service: "web"},
			wantOut:  "Service web depends on db.\n",
			wantErr:  "herd: error: failed to start service web\n",
			wantCode: cmdutil.ExitFailure,
		},
		{
			name:     "unknown service",
			args:     []string{"status", "foo"},
			reply:    fail(wire.Error{Kind: wire.ServiceNotFound, Service: "foo"}),
			wantReq:  wire.Request{Action: "status", Service: "foo"},
			wantErr:  "herd: error: service 'foo' could not be found\n",
			wantCode: cmdutil.ExitFailure,
		},
		{
			name:     "custom action is routed; unknown action",
			args:     []string{"frob", "web", "x"},
			reply:    fail(wire.Error{Kind: wire.ActionNotFound, Service: "web", Action: "frob"}),
			wantReq:  wire.Request{Action: "frob", Service: "web", Args: []string{"x"}},
			wantErr:  "herd: error: service 'web' does not have an action 'frob'\n",
			wantCode: cmdutil.ExitFailure,
		},
		{
			name:     "a word alone is an unknown command, with suggestions",
			args:     []string{"statsu"},
			wantErr:  "herd: error: unknown command \"statsu\" for \"herd\"\n\nDid you mean this?\n\tstatus\nRun 'herd --help' for the commands.\n",
			wantCode: cmdutil.ExitUsage,
		},
		{
			name:     "a typo'd verb with a service that has no such action",
			args:     []string{"strat", "clock"},
			reply:    fail(wire.Error{Kind: wire.ActionNotFound, Service: "clock", Action: "strat"}),
			wantReq:  wire.Request{Action: "strat", Service: "clock"},
			wantErr:  "herd: error: unknown command \"strat\"; did you mean start?\nRun 'herd --help' for the commands.\n",
			wantCode: cmdutil.ExitUsage,
		},
		{
			name:     "custom action output and exit code",
			args:     []string{"-s", "/sock", "check", "web", "-v"},
			reply:    ok(wire.ActionResult{Service: "web", Outcome: wire.Done, Output: "bad", ExitCode: 3}),
			wantReq:  wire.Request{Action: "check", Service: "web", Args: []string{"-v"}},
			wantOut:  "bad\n",
			wantCode: cmdutil.ExitFailure,
		},
		{
			name:    "reload with a service is its custom action",
			args:    []string{"reload", "web"},
			reply:   ok(wire.ActionResult{Service: "web", Outcome: wire.Done, Output: "ok\n"}),
			wantReq: wire.Request{Action: "reload", Service: "web", Args: []string{}},
			wantOut: "ok\n",
		},
		{
			name:     "permission denied",
			args:     []string{"stop", "db"},
			reply:    fail(wire.Error{Kind: wire.PermissionDenied, Message: "permission denied: no capability for 'stop' on 'db'"}),
			wantReq:  wire.Request{Action: "stop", Service: "db"},
			wantErr:  "herd: error: permission denied: no capability for 'stop' on 'db'\n",
			wantCode: cmdutil.ExitFailure,
		},
		{
			name:    "enable",
			args:    []string{"enable", "web"},
			reply:   ok(wire.ActionResult{Service: "web", Outcome: wire.Enabled}),
			wantReq: wire.Request{Action: "enable", Service: "web"},
			wantOut: "Enabled service web.\n",
		},
		{
			name:    "disable",
			args:    []string{"disable", "web"},
			reply:   ok(wire.ActionResult{Service: "web", Outcome: wire.Disabled}),
			wantReq: wire.Request{Action: "disable", Service: "web"},
			wantOut: "Disabled service web.\n",
		},
		{
			name: "status summary groups",
			args: []string{"status"},
			reply: ok(wire.StatusAll{Services: []wire.Summary{
				{Name: "backup", State: "stopped"}, {Name: "broken", State: "failed"}, {Name: "cache", State: "stopping"},
				{Name: "db", State: "starting"}, {Name: "migrate", State: "stopped", OneShot: true, Done: true},
				{Name: "networking", State: "running"}, {Name: "remote", State: "unreachable"}, {Name: "web-server", State: "running"},
			}}),
			wantReq: wire.Request{Action: "status"},
			wantOut: "Started:\n + networking\n + web-server\nStarting:\n ^ db\nStopped:\n - backup\nStopping:\n v cache\n" +
				"One-shot:\n * migrate\nFailed to start:\n ! broken\nUnreachable:\n ? remote\n",
		},
		{
			name: "detailed status",
			args: []string{"status", "web-server"},
			reply: ok(wire.Status{
				Name: "web-server", Provides: []string{"httpd"}, Requires: []string{"networking"}, State: "running",
				Since: now.Add(-3 * time.Second), Enabled: true, PID: 1234, Command: []string{"/usr/bin/python3", "-m", "http.server", "8080"},
				Respawn: true, LastRespawn: now.Add(-4 * time.Second), Actions: []string{"reload"},
				Recent: []string{"2026-11-24 17:59:28 Serving HTTP on 0.0.0.0 port 8080"},
			}),
			wantReq: wire.Request{Action: "status", Service: "web-server"},
			wantOut: `● Status of web-server:
  It is running since 18:00:00 (3 seconds ago).
  Main PID: 1234
  Command: /usr/bin/python3 -m http.server 8080
  It is enabled.
  Provides: web-server httpd
  Requires: networking
  Custom actions: reload
  Will be respawned.
  Last respawned on 17:59:59 (4 seconds ago).

  Recent messages (use '-n' to view more or less):
    2026-11-24 17:59:28 Serving HTTP on 0.0.0.0 port 8080
`,
		},
		{
			name: "failing, disabled, killed",
			args: []string{"status", "crasher", "-n", "0"},
			reply: ok(wire.Status{
				Name: "crasher", State: "failed", Failing: true, FailedAt: now.Add(-48 * time.Hour), Respawn: true,
				LastExit: &wire.ExitInfo{Signal: "SIGKILL"},
			}),
			wantReq: wire.Request{Action: "status", Service: "crasher", Args: []string{"-n", "0"}},
			wantOut: "● Status of crasher:\n  It is stopped (failing).\n  Failed to start at " + now.Add(-48*time.Hour).Format("2006-01-02 15:04:05") +
				".\n  It is disabled.\n  Provides: crasher\n  Will not be respawned while it is disabled.\n  Process terminated with signal SIGKILL.\n",
		},
		{
			name:    "one-shot",
			args:    []string{"status", "migrate"},
			reply:   ok(wire.Status{Name: "migrate", State: "stopped", OneShot: true, Done: true, Enabled: true, LastExit: &wire.ExitInfo{Code: 0}}),
			wantReq: wire.Request{Action: "status", Service: "migrate"},
			wantOut: "● Status of migrate:\n  It is stopped (one-shot).\n  It is enabled.\n  Provides: migrate\n  Will not be respawned.\n  Process exited with code 0.\n",
		},
		{
			name:    "graph",
			args:    []string{"graph"},
			reply:   ok(wire.Graph{Nodes: []wire.GraphNode{{Name: "a", State: "running"}, {Name: "b", State: "failed"}, {Name: "c", State: "stopped", OneShot: true}}, Edges: [][2]string{{"a", "b"}}}),
			wantReq: wire.Request{Action: "graph"},
			wantOut: "digraph \"Service Graph\" {\n  \"a\" [shape = box, color = green];\n  \"b\" [shape = box, color = red];\n  \"c\" [shape = circle, color = purple];\n  \"a\" -> \"b\";\n}\n",
		},
		{
			name:    "doc without description",
			args:    []string{"doc", "web"},
			reply:   ok(wire.Doc{Service: "web"}),
			wantReq: wire.Request{Action: "doc", Service: "web"},
			wantOut: "[No description].\n",
		},
		{
			name:    "log transitions",
			args:    []string{"log"},
			reply:   ok(wire.LogResult{Entries: []wire.LogEntry{{Time: now, Service: "web", Text: "is running"}}}),
			wantReq: wire.Request{Action: "log"},
			wantOut: "2026-11-24 18:00:03\tservice web is running\n",
		},
		{
			name:    "log output lines",
			args:    []string{"log", "web", "-n", "2"},
			reply:   ok(wire.LogResult{Entries: []wire.LogEntry{{Service: "web", Text: "2026-11-24 18:00:03 hello"}}}),
			wantReq: wire.Request{Action: "log", Service: "web", Args: []string{"-n", "2"}},
			wantOut: "2026-11-24 18:00:03 hello\n",
		},
		{
			name:    "json prints the result",
			args:    []string{"--json", "enable", "web"},
			reply:   ok(wire.ActionResult{Service: "web", Outcome: wire.Enabled}),
			wantReq: wire.Request{Action: "enable", Service: "web"},
			wantOut: `{"format":1,"service":"web","outcome":"enabled"}` + "\n",
		},
		{
			name:    "json lists are never null",
			args:    []string{"--json", "cap", "list"},
			reply:   ok(wire.CapList{}),
			wantReq: wire.Request{Action: "cap-list", Args: []string{"{}"}},
			wantOut: `{"format":1,"caps":[]}` + "\n",
		},
		{
			name:    "json output lines have no zero time",
			args:    []string{"--json", "log", "web", "-n", "1"},
			reply:   ok(wire.LogResult{Entries: []wire.LogEntry{{Service: "web", Text: "2026-11-24 18:00:03 hello"}}}),
			wantReq: wire.Request{Action: "log", Service: "web", Args: []string{"-n", "1"}},
			wantOut: `{"format":1,"entries":[{"service":"web","text":"2026-11-24 18:00:03 hello"}]}` + "\n",
		},
		{
			name:    "json follow prints a line per entry",
			args:    []string{"--json", "log", "web", "-f"},
			reply:   ok(wire.LogResult{Entries: []wire.LogEntry{{Service: "web", Text: "a"}, {Service: "web", Text: "b"}}}),
			wantReq: wire.Request{Action: "log", Service: "web", Args: []string{"-n", "10", "-f"}},
			wantOut: `{"format":1,"service":"web","text":"a"}` + "\n" + `{"format":1,"service":"web","text":"b"}` + "\n",
		},
		{
			name:     "json prints the error",
			args:     []string{"start", "x", "--json"},
			reply:    fail(wire.Error{Kind: wire.ServiceNotFound, Service: "x", Message: "m"}),
			wantReq:  wire.Request{Action: "start", Service: "x"},
			wantOut:  `{"format":1,"error":{"kind":"service-not-found","message":"m","service":"x"}}` + "\n",
			wantCode: cmdutil.ExitFailure,
		},
		{name: "json usage error", args: []string{"start", "--json"}, wantOut: `{"format":1,"error":{"kind":"usage","message":"start needs a service: herd start SERVICE..."}}` + "\n", wantCode: cmdutil.ExitUsage},
		{name: "json bad flag before --json", args: []string{"status", "--bogus", "--json"}, wantOut: `{"format":1,"error":{"kind":"usage","message":"unknown flag: --bogus"}}` + "\n", wantCode: cmdutil.ExitUsage},
		{name: "missing argument is a usage error", args: []string{"start"}, wantErr: "herd: error: start needs a service: herd start SERVICE...\n", wantCode: cmdutil.ExitUsage},
		{name: "unknown flag is a usage error", args: []string{"status", "--bogus"}, wantErr: "herd: error: unknown flag: --bogus\n", wantCode: cmdutil.ExitUsage},
		{
			name: "log -n without a service: every service's lines, each after its name",
			args: []string{"log", "-n", "3"},
			reply: ok(wire.LogResult{Entries: []wire.LogEntry{{Service: "web", Text: "2026-11-24 18:00:03 hello"},
				{Service: "db", Text: "2026-11-24 18:00:04 ready"}}}),
			wantReq: wire.Request{Action: "log", Args: []string{"-n", "3"}},
			wantOut: "web: 2026-11-24 18:00:03 hello\ndb: 2026-11-24 18:00:04 ready\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			var got wire.Request
			f := &cmdutil.Factory{Out: &out, Err: &errOut, Now: func() time.Time { return now },
				Connect: func(context.Context, string) (cmdutil.Client, error) {
					return fakeClient{reply: tt.reply, got: &got}, nil
				}}
			code := Run(f, tt.args)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if out.String() != tt.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), tt.wantOut)
			}
			if errOut.String() != tt.wantErr {
				t.Errorf("stderr:\n%q\nwant:\n%q", errOut.String(), tt.wantErr)
			}
			if tt.wantReq.Args == nil && len(got.Args) == 0 {
				got.Args = nil
			}
			if got.Action != tt.wantReq.Action || got.Service != tt.wantReq.Service || !slices.Equal(got.Args, tt.wantReq.Args) {
				t.Errorf("request %+v, want %+v", got, tt.wantReq)
			}
		})
	}
}

func TestAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1 second ago", 59 * time.Second: "59 seconds ago", 90 * time.Minute: "90 minutes ago",
		3 * time.Hour: "3 hours ago", 47 * time.Hour: "47 hours ago", 72 * time.Hour: "3 days ago",
	} {
		if got := ago(now.Add(-d), now); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

// TestAgainstRealSocket runs herd against a fake daemon on a real unix
// socket, and without one.
func TestAgainstRealSocket(t *testing.T) {
	sock := t.TempDir() + "/run/socket"
	ln, err := local.Listen(sock, local.ListenOptions{Group: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := &local.Server{Handler: local.HandlerFunc(func(_ context.Context, _ local.Peer, req wire.Request, out local.Responder) {
		out.Send(wire.OKReply(req.ID, wire.ActionResult{Service: req.Service, Outcome: wire.Stopped}))
	})}
	go srv.Serve(ln)
	defer srv.Close()

	var out, errOut bytes.Buffer
	if code := Main([]string{"-s", sock, "stop", "web"}, nil, &out, &errOut); code != 0 || out.String() != "Service web has been stopped.\n" {
		t.Fatalf("code %d out %q err %q", code, out.String(), errOut.String())
	}
	out.Reset()
	missing := t.TempDir() + "/nope"
	if code := Main([]string{"-s", missing, "status"}, nil, &out, &errOut); code != cmdutil.ExitFailure || errOut.String() != "herd: error: "+missing+": No such file or directory\n"+cmdutil.DialHint(syscall.ENOENT)+"\n" {
		t.Fatalf("code %d err %q", code, errOut.String())
	}
}

// On a terminal, text from services, daemons and peers is shown with its
// control characters escaped, on stdout and stderr alike; --json output
// and output to a pipe are left as they are.
func TestRunEscapesControlsOnATerminal(t *testing.T) {
	evil := "\x1b]0;pwned\x07title \x1b[2Jclear"
	shown := `\x1b]0;pwned\x07title \x1b[2Jclear`
	status := ok(wire.Status{Name: "web", State: "stopped", Since: now, Enabled: true, Recent: []string{"2026-11-24 18:00:03 " + evil}})
	tests := []struct {
		name             string
		args             []string
		reply            wire.Reply
		tty              bool
		wantOut, wantErr string // substrings
	}{
		{name: "status recent lines", args: []string{"status", "web"}, reply: status, tty: true, wantOut: "    2026-11-24 18:00:03 " + shown + "\n"},
		{name: "status to a pipe", args: []string{"status", "web"}, reply: status, wantOut: "    2026-11-24 18:00:03 " + evil + "\n"},
		{name: "log output", args: []string{"log", "web", "-n", "1"}, tty: true,
			reply: ok(wire.LogResult{Entries: []wire.LogEntry{{Service: "web", Text: "2026-11-24 18:00:03 " + evil}}}), wantOut: "2026-11-24 18:00:03 " + shown + "\n"},
		{name: "log follow", args: []string{"log", "web", "-f"}, tty: true,
			reply: ok(wire.LogResult{Entries: []wire.LogEntry{{Service: "web", Text: evil}}}), wantOut: shown + "\n"},
		{name: "log to a pipe", args: []string{"log", "web", "-n", "1"},
			reply: ok(wire.LogResult{Entries: []wire.LogEntry{{Service: "web", Text: evil}}}), wantOut: evil + "\n"},
		{name: "history detail", args: []string{"history", "web"}, tty: true,
			reply: ok(wire.Events{Events: []wire.Event{{Time: now, Service: "web", Kind: "state", State: "failed", Message: evil}}}), wantOut: shown + "\n"},
		{name: "custom action output", args: []string{"show", "web"}, tty: true,
			reply: ok(wire.ActionResult{Service: "web", Outcome: wire.Done, Output: evil}), wantOut: shown},
		{name: "error message", args: []string{"stop", "web"}, tty: true,
			reply: fail(wire.Error{Kind: wire.Unreachable, Message: "peer says " + evil}), wantErr: "herd: error: peer says " + shown + "\n"},
		{name: "json stays json", args: []string{"--json", "status", "web"}, reply: status, tty: true, wantOut: `\u001b]0;pwned\u0007title`},
		{name: "json escapes what JSON allows raw", args: []string{"--json", "status", "web"}, tty: true,
			reply: ok(wire.Status{Name: "web", Recent: []string{"del\x7f csi\u009b bad\xff"}}), wantOut: `"del\u007f csi\u009b bad` + "\ufffd" + `"`},
		{name: "json to a pipe", args: []string{"--json", "status", "web"},
			reply: ok(wire.Status{Name: "web", Recent: []string{"del\x7f csi\u009b"}}), wantOut: "\"del\x7f csi\u009b\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			var got wire.Request
			f := &cmdutil.Factory{Out: &out, Err: &errOut, Now: func() time.Time { return now },
				IsTerminal: func(io.Writer) bool { return tt.tty },
				Connect: func(context.Context, string) (cmdutil.Client, error) {
					return fakeClient{reply: tt.reply, got: &got}, nil
				}}
			Run(f, tt.args)
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout:\n%q\nwant it to hold:\n%q", out.String(), tt.wantOut)
			}
			if !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr:\n%q\nwant it to hold:\n%q", errOut.String(), tt.wantErr)
			}
			if tt.tty && strings.ContainsAny(out.String()+errOut.String(), "\x1b\x07") {
				t.Errorf("a control character reached the terminal: %q %q", out.String(), errOut.String())
			}
		})
	}
}
