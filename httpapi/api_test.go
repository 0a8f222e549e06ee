package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/daemon"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestEveryEndpoint drives each route of the API with the admin
// capability against a real daemon.
func TestEveryEndpoint(t *testing.T) {
	td := startDaemon(t, config)
	tok := td.admin(t)

	var all wire.StatusAll
	td.getJSON(t, "/v1/services", tok, &all)
	var names []string
	for _, s := range all.Services {
		names = append(names, s.Name)
	}
	for _, want := range []string{"web", "other", "talker", "broken", "pool"} {
		if !slices.Contains(names, want) {
			t.Fatalf("GET /v1/services: %v lacks %s", names, want)
		}
	}
	waitFor(t, "web running", func() bool {
		var st wire.Status
		td.getJSON(t, "/v1/services/web", tok, &st)
		return st.Name == "web" && st.State == wire.StateRunning
	})

	// Live events, opened before the actions that make them.
	ev := td.stream(t, "/v1/events", tok, nil)

	for _, step := range []struct{ verb, outcome string }{
		{"stop", "stopped"}, {"start", "started"}, {"restart", "started"}, {"disable", "disabled"}, {"enable", "enabled"},
	} {
		code, b := td.do(t, "POST", "/v1/services/web/"+step.verb, tok, "")
		var res wire.ActionResult
		if code != 200 || json.Unmarshal(b, &res) != nil || res.Service != "web" || string(res.Outcome) != step.outcome {
			t.Fatalf("POST %s: %d %s", step.verb, code, b)
		}
	}
	// The stream saw web stop and start again, with ids that are the
	// history's sequence numbers.
	seen := map[string]bool{}
	for !seen["stopped"] || !seen["running"] {
		e := ev.next(t)
		var we wire.Event
		if err := json.Unmarshal(e.data, &we); err != nil || e.id != strconv.FormatUint(we.Seq, 10) {
			t.Fatalf("event %q %s: %v", e.id, e.data, err)
		}
		if we.Service == "web" && we.Kind == "state" {
			seen[we.State] = true
		}
	}

	code, b := td.do(t, "POST", "/v1/services/web/actions/hello", tok, `{"args": ["there"]}`)
	var res wire.ActionResult
	if code != 200 || json.Unmarshal(b, &res) != nil || !strings.Contains(res.Output, "hello from web there") {
		t.Fatalf("POST actions/hello: %d %s", code, b)
	}

	code, b = td.do(t, "PUT", "/v1/services/pool/instances", tok, `{"instances": 3}`)
	if code != 200 {
		t.Fatalf("PUT instances: %d %s", code, b)
	}
	waitFor(t, "three instances of pool", func() bool {
		var st wire.Status
		td.getJSON(t, "/v1/services/pool", tok, &st)
		return len(st.Instances) == 3
	})

	waitFor(t, "talker's output", func() bool {
		var lr wire.LogResult
		td.getJSON(t, "/v1/services/talker/log?n=3", tok, &lr)
		return len(lr.Entries) == 3 && strings.Contains(lr.Entries[2].Text, "tick")
	})
	lf := td.stream(t, "/v1/services/talker/log?n=1&follow=1", tok, nil)
	var ticks []string
	for len(ticks) < 3 {
		e := lf.next(t)
		var le wire.LogEntry
		if e.kind != "log" || json.Unmarshal(e.data, &le) != nil {
			t.Fatalf("log event %+v", e)
		}
		ticks = append(ticks, le.Text)
	}
	if !strings.Contains(ticks[2], "tick") || ticks[1] == ticks[2] {
		t.Fatalf("followed lines: %q", ticks)
	}

	// The audit trail says who asked, and how. An action's record is
	// stored after its answer: wait for it.
	var evs wire.Events
	waitFor(t, "the HTTP admin's stop in web's history", func() bool {
		td.getJSON(t, "/v1/history?service=web", tok, &evs)
		if len(evs.Events) == 0 || slices.ContainsFunc(evs.Events, func(e wire.Event) bool { return e.Service != "web" }) {
			t.Fatalf("history of web: %+v", evs)
		}
		return slices.ContainsFunc(evs.Events, func(e wire.Event) bool {
			return e.Action == "stop" && strings.Contains(e.Who, "via HTTP 127.0.0.1:") && strings.HasSuffix(e.Who, "(admin capability)")
		})
	})
	td.getJSON(t, "/v1/history?limit=2", tok, &evs)
	if len(evs.Events) != 2 {
		t.Fatalf("history limit=2: %d events", len(evs.Events))
	}

	var runs wire.FleetRuns
	td.getJSON(t, "/v1/fleet/runs", tok, &runs)
	if len(runs.Runs) != 0 {
		t.Fatalf("fleet runs before any: %+v", runs)
	}
	run, _ := json.Marshal(wire.FleetRun{Command: []string{"uptime"}, Summary: "1 host", Results: []wire.FleetHostResult{{Host: "a", Output: "up"}}})
	if e := td.call(t, wire.Request{Action: "fleet-record", Args: []string{string(run)}}, nil); e != nil {
		t.Fatal(e)
	}
	td.getJSON(t, "/v1/fleet/runs", tok, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].ID != 1 {
		t.Fatalf("fleet runs: %+v", runs)
	}
	var one wire.FleetRun
	td.getJSON(t, "/v1/fleet/runs/1", tok, &one)
	if len(one.Results) != 1 || one.Results[0].Output != "up" {
		t.Fatalf("fleet run 1: %+v", one)
	}
}

// TestErrorCodes: each refusal has its status and the protocol's kind.
func TestErrorCodes(t *testing.T) {
	td := startDaemon(t, config+`  - name: far
    remote: `+capability.Sturdyref{Peer: "12D3KooWDMamLiofwqYYXmELadEK3f3RNnT4aXyxrCixUxvfQ4Hj", Swiss: capability.Swiss{7}, Addrs: []string{"/unix/nonexistent/socket"}}.String()+`
    auto-start: false
`)
	admin := td.admin(t)
	webOnly := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, HTTP: true})
	revoked := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, HTTP: true})
	td.revoke(t, revoked)
	expired := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, HTTP: true, Expires: "1ns"})
	var id wire.NetID
	if e := td.call(t, wire.Request{Action: "id"}, &id); e != nil {
		t.Fatal(e)
	}
	otherDaemons := capability.Sturdyref{Peer: "12D3KooWDMamLiofwqYYXmELadEK3f3RNnT4aXyxrCixUxvfQ4Hj", Swiss: capability.Swiss{1}}.String()
	unknown := capability.Sturdyref{Peer: id.PeerID, Swiss: capability.Swiss{9}}.String()

	for _, c := range []struct {
		name, method, path, token, body string
		code                            int
		kind                            wire.ErrorKind
	}{
		{"no token", "GET", "/v1/services", "", "", 401, wire.PermissionDenied},
		{"no token, unknown route", "GET", "/v1/nothing", "", "", 401, wire.PermissionDenied},
		{"not a sturdyref", "GET", "/v1/services", "hunter2", "", 401, wire.PermissionDenied},
		{"another daemon's", "GET", "/v1/services", otherDaemons, "", 401, wire.PermissionDenied},
		{"unknown swiss", "GET", "/v1/services/web", unknown, "", 401, wire.PermissionDenied},
		{"revoked", "GET", "/v1/services/web", revoked, "", 401, wire.CapabilityRevoked},
		{"expired", "GET", "/v1/services/web", expired, "", 401, wire.CapabilityExpired},
		{"unknown service", "GET", "/v1/services/nosuch", admin, "", 404, wire.ServiceNotFound},
		{"unknown action", "POST", "/v1/services/web/actions/nosuch", admin, "", 404, wire.ActionNotFound},
		{"start failed", "POST", "/v1/services/broken/start", admin, "", 409, wire.StartFailed},
		{"dependency failed", "POST", "/v1/services/needs-broken/start", admin, "", 409, wire.DependencyFailed},
		{"unreachable", "POST", "/v1/services/far/start", admin, "", 503, wire.Unreachable},
		{"unknown parameter", "GET", "/v1/history?colour=red", admin, "", 400, wire.BadRequest},
		{"bad since", "GET", "/v1/history?since=yesterday-ish", admin, "", 400, wire.BadRequest},
		{"bad body", "PUT", "/v1/services/pool/instances", admin, `{"instances": "many"}`, 400, wire.BadRequest},
		{"unknown body field", "PUT", "/v1/services/pool/instances", admin, `{"instances": 2, "x": 1}`, 400, wire.BadRequest},
		{"no instances", "PUT", "/v1/services/web/instances", admin, `{"instances": 2}`, 400, wire.BadRequest},
		{"bad follow", "GET", "/v1/services/web/log?follow=yes", admin, "", 400, wire.BadRequest},
		{"bad Last-Event-ID", "GET", "/v1/events?after=x", admin, "", 400, wire.BadRequest},
		{"exec is no custom action", "POST", "/v1/services/web/actions/exec", admin, "", 400, wire.BadRequest},
		{"load is no custom action", "POST", "/v1/services/web/actions/load", admin, "", 400, wire.BadRequest},
		// The admin capability is served as the owner: spawn would run a
		// command as the daemon.
		{"spawn is no custom action", "POST", "/v1/services/web/actions/spawn", admin, `{"args": ["{\"command\":[\"touch\",\"/tmp/x\"]}"]}`, 400, wire.BadRequest},
		{"no such fleet run", "GET", "/v1/fleet/runs/99", admin, "", 404, wire.BadRequest},
		{"not a fleet run", "GET", "/v1/fleet/runs/x", admin, "", 400, wire.BadRequest},
		{"unknown route", "GET", "/v1/nothing", admin, "", 404, wire.BadRequest},
		{"wrong method", "DELETE", "/v1/services/web", admin, "", 405, wire.BadRequest},
		{"the daemon itself", "POST", "/v1/services/shepherd/stop", admin, "", 403, wire.PermissionDenied},
		{"not granted", "POST", "/v1/services/web/stop", webOnly, "", 403, wire.PermissionDenied},
		{"another service", "GET", "/v1/services/other", webOnly, "", 403, wire.PermissionDenied},
		{"fleet runs", "GET", "/v1/fleet/runs", webOnly, "", 403, wire.PermissionDenied},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, b := td.do(t, c.method, c.path, c.token, c.body)
			e := errorOf(t, b)
			if code != c.code || e.Kind != c.kind {
				t.Fatalf("%s %s: %d %s, want %d %s", c.method, c.path, code, b, c.code, c.kind)
			}
			if c.token == "" && (strings.Contains(string(b), "web") || strings.Contains(string(b), "other")) {
				t.Fatalf("without a token the answer names a service: %s", b)
			}
		})
	}
}

// TestServiceTokenSeesNothingElse: a capability on web shows web, and
// nothing of the other services: not in the list, not their status (an
// unknown service is refused alike), not their events or history.
func TestServiceTokenSeesNothingElse(t *testing.T) {
	td := startDaemon(t, config)
	admin := td.admin(t)
	tok := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status", "start", "stop", "restart"}, HTTP: true})
	waitFor(t, "web running", func() bool {
		var st wire.Status
		td.getJSON(t, "/v1/services/web", tok, &st)
		return st.State == wire.StateRunning
	})

	var all wire.StatusAll
	td.getJSON(t, "/v1/services", tok, &all)
	if len(all.Services) != 1 || all.Services[0].Name != "web" {
		t.Fatalf("GET /v1/services with a token on web: %+v", all)
	}
	_, known := td.do(t, "GET", "/v1/services/other", tok, "")
	_, unknown := td.do(t, "GET", "/v1/services/nosuch", tok, "")
	if strings.ReplaceAll(string(known), "other", "X") != strings.ReplaceAll(string(unknown), "nosuch", "X") {
		t.Fatalf("a refusal tells an existing service from a missing one:\n%s\n%s", known, unknown)
	}
	for _, path := range []string{"/v1/history?service=other", "/v1/services/other/log", "/v1/events?service=other"} {
		if code, b := td.do(t, "GET", path, tok, ""); code != 403 {
			t.Fatalf("GET %s: %d %s", path, code, b)
		}
	}
	if code, b := td.do(t, "POST", "/v1/services/other/stop", tok, ""); code != 403 {
		t.Fatalf("stop other: %d %s", code, b)
	}

	ev := td.stream(t, "/v1/events", tok, nil)
	for _, path := range []string{"/v1/services/other/restart", "/v1/services/web/restart"} {
		if code, b := td.do(t, "POST", path, admin, ""); code != 200 {
			t.Fatalf("POST %s: %d %s", path, code, b)
		}
	}
	// Everything up to web running again after its restart is web's,
	// and no capability event (who used what) either. Web's first start
	// may still reach the stream: the restart is what begins with
	// stopping, and other's restart came before it.
	for restarting := false; ; {
		e := ev.next(t)
		var we wire.Event
		json.Unmarshal(e.data, &we)
		if we.Service != "web" || we.Kind == "capability" {
			t.Fatalf("a token on web sees %s", e.data)
		}
		restarting = restarting || we.Kind == "state" && we.State == wire.StateStopping
		if restarting && we.Kind == "state" && we.State == wire.StateRunning {
			break
		}
	}
	if code, b := td.do(t, "POST", "/v1/services/web/restart", tok, ""); code != 200 {
		t.Fatalf("restart with a token on web: %d %s", code, b)
	}
	// An action's record is stored after its answer: wait for it. Every
	// read of the history on the way shows web's events alone.
	waitFor(t, "the token holder's restart in web's history", func() bool {
		var evs wire.Events
		td.getJSON(t, "/v1/history", tok, &evs)
		if len(evs.Events) == 0 || slices.ContainsFunc(evs.Events, func(e wire.Event) bool { return e.Service != "web" }) {
			t.Fatalf("history with a token on web: %+v", evs)
		}
		return slices.ContainsFunc(evs.Events, func(e wire.Event) bool {
			return e.Action == "restart" && strings.HasPrefix(e.Who, "http via HTTP 127.0.0.1:")
		})
	})
}

// TestRevokedCapabilityRefusedOnNextRequest: revocation takes effect on
// the very next request, and ends an open stream at its next event; the
// admin capability likewise.
func TestRevokedCapabilityRefusedOnNextRequest(t *testing.T) {
	td := startDaemon(t, config)
	admin := td.admin(t)
	for _, c := range []struct {
		name, tok string
	}{
		{"service", td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, HTTP: true})},
		{"admin", td.admin(t)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code, b := td.do(t, "GET", "/v1/services/web", c.tok, ""); code != 200 {
				t.Fatalf("before: %d %s", code, b)
			}
			ev := td.stream(t, "/v1/events", c.tok, nil)
			td.revoke(t, c.tok)
			code, b := td.do(t, "GET", "/v1/services/web", c.tok, "")
			if e := errorOf(t, b); code != 401 || e.Kind != wire.CapabilityRevoked {
				t.Fatalf("after: %d %s", code, b)
			}
			if code, b := td.do(t, "POST", "/v1/services/web/restart", admin, ""); code != 200 {
				t.Fatalf("restart: %d %s", code, b)
			}
			for {
				e := ev.next(t)
				if e.kind == "error" {
					var we wire.Error
					if json.Unmarshal(e.data, &we) != nil || we.Kind != wire.CapabilityRevoked {
						t.Fatalf("the stream ended with %s", e.data)
					}
					break
				}
				// What was stored before the revocation may still be
				// on its way to the stream: the daemon's start, and the
				// previous subtest's restart record (an action's record
				// is stored after its answer). The restart after the
				// revocation begins with stopping.
				var we wire.Event
				json.Unmarshal(e.data, &we)
				if we.Kind == "state" && we.State != wire.StateStarting && we.State != wire.StateRunning {
					t.Fatalf("a revoked capability still sees %s", e.data)
				}
			}
		})
	}
}

// TestCapabilityLimitsHoldOverHTTP: what the socket refuses to a
// capability, HTTP refuses: a custom action it does not name, arguments
// outside its patterns, an exec capability's commands, other protocol
// actions through the custom-action route.
func TestCapabilityLimitsHoldOverHTTP(t *testing.T) {
	td := startDaemon(t, config)
	status := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, HTTP: true})
	narrow := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status", "hello"}, HTTP: true, Args: map[string][]string{"hello": {"abc"}}})
	execCap := td.grant(t, wire.CapArgs{Service: capability.ExecTarget, Allow: []string{"uname -n"}, HTTP: true})
	socketOnly := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, User: "0"})
	for _, c := range []struct {
		name, method, path, token, body string
		code                            int
	}{
		{"custom action not granted", "POST", "/v1/services/web/actions/hello", status, "", 403},
		{"arguments outside the capability's pattern", "POST", "/v1/services/web/actions/hello", narrow, `{"args": ["xyz"]}`, 403},
		{"arguments inside the pattern", "POST", "/v1/services/web/actions/hello", narrow, `{"args": ["abc"]}`, 200},
		{"exec through the action route", "POST", "/v1/services/exec/actions/exec", execCap, `{"args": ["uname", "-n"]}`, 400},
		{"an exec capability's status", "GET", "/v1/services", execCap, "", 403},
		{"an exec capability on a service", "POST", "/v1/services/web/start", execCap, "", 403},
		{"unload", "POST", "/v1/services/web/actions/unload", status, "", 400},
		{"cap-grant", "POST", "/v1/services/web/actions/cap-grant", status, "", 400},
		{"fleet-record", "POST", "/v1/services/web/actions/fleet-record", status, "", 400},
		{"a grant bound to a uid", "GET", "/v1/services/web", socketOnly, "", 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			if code, b := td.do(t, c.method, c.path, c.token, c.body); code != c.code {
				t.Fatalf("%s %s: %d %s, want %d", c.method, c.path, code, b, c.code)
			}
		})
	}
}

// TestAdminCapabilityIsForHTTPOnly: the admin capability is refused on
// the socket (herd --cap), even to the owner.
func TestAdminCapabilityIsForHTTPOnly(t *testing.T) {
	td := startDaemon(t, config)
	admin := td.admin(t)
	for _, req := range []wire.Request{
		{Action: "status", Cap: admin},
		{Action: "stop", Service: "web", Cap: admin},
		{Action: "status", Service: "web", Cap: admin},
	} {
		if e := td.call(t, req, nil); e == nil || e.Kind != wire.PermissionDenied {
			t.Fatalf("%+v on the socket: %v", req, e)
		}
	}
}

// TestBadTokensAreShutOut: an address that keeps presenting bad tokens
// is answered 429 for a while; a token already accepted still passes.
func TestBadTokensAreShutOut(t *testing.T) {
	td := startDaemon(t, config)
	tok := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, HTTP: true})
	if code, _ := td.do(t, "GET", "/v1/services/web", tok, ""); code != 200 {
		t.Fatal(code)
	}
	fresh := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, HTTP: true})
	for i := range 20 {
		if code, b := td.do(t, "GET", "/v1/services/web", fmt.Sprintf("guess-%d", i), ""); code != 401 {
			t.Fatalf("bad token %d: %d %s", i, code, b)
		}
	}
	code, b := td.do(t, "GET", "/v1/services/web", "guess-21", "")
	if code != 429 {
		t.Fatalf("after 20 bad tokens: %d %s", code, b)
	}
	if code, b := td.do(t, "GET", "/v1/services/web", fresh, ""); code != 429 {
		t.Fatalf("a token never accepted, from a shut-out address: %d %s", code, b)
	}
	if code, b := td.do(t, "GET", "/v1/services/web", tok, ""); code != 200 {
		t.Fatalf("a token accepted before: %d %s", code, b)
	}
}

// TestMetricsHook: the daemon's metrics handler is served at /metrics to
// the admin capability only, or to anyone when public; without a
// handler /metrics is no route.
func TestMetricsHook(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "shepherd_up 1") })
	td := startDaemon(t, config, func(o *daemon.Options) { o.HTTP.Metrics = metrics })
	admin := td.admin(t)
	web := td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, HTTP: true})
	for _, c := range []struct {
		token string
		code  int
	}{{"", 401}, {web, 403}, {admin, 200}} {
		if code, b := td.do(t, "GET", "/metrics", c.token, ""); code != c.code || code == 200 && string(b) != "shepherd_up 1\n" {
			t.Fatalf("GET /metrics with %q: %d %s", c.token, code, b)
		}
	}
	td.d.Shutdown()
	td = startDaemon(t, config, func(o *daemon.Options) { o.HTTP.Metrics, o.HTTP.MetricsPublic = metrics, true })
	if code, b := td.do(t, "GET", "/metrics", "", ""); code != 200 {
		t.Fatalf("public /metrics: %d %s", code, b)
	}
	td.d.Shutdown()
	// The daemon mounts its own metrics (package metrics) by default,
	// to the admin capability only.
	td = startDaemon(t, config)
	web = td.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status"}, HTTP: true})
	if code, b := td.do(t, "GET", "/metrics", td.admin(t), ""); code != 200 || !strings.Contains(string(b), `shepherd_service_up{service="web"}`) {
		t.Fatalf("the daemon's /metrics: %d %.300s", code, b)
	}
	for _, token := range []string{"", web} {
		if code, b := td.do(t, "GET", "/metrics", token, ""); code == 200 || strings.Contains(string(b), "web") {
			t.Fatalf("the daemon's /metrics with %q: %d %.300s", token, code, b)
		}
	}
}
