package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

func TestReadyKeys(t *testing.T) {
	for _, c := range []struct {
		yaml string
		want services.Readiness
	}{
		{"ready: notify", services.Readiness{Notify: true}},
		{"ready: {fd: 3}", services.Readiness{FD: 3}},
		{"ready: {tcp: '127.0.0.1:6379'}", services.Readiness{TCP: "127.0.0.1:6379", Interval: 100 * time.Millisecond, Timeout: time.Second}},
		{"ready: {http: 'http://[::1]:8080/health', interval: 1s, timeout: 200ms}", services.Readiness{HTTP: "http://[::1]:8080/health", Interval: time.Second, Timeout: 200 * time.Millisecond}},
		{"ready: {exec: 'redis-cli ping'}", services.Readiness{Exec: []string{"redis-cli", "ping"}, Interval: 100 * time.Millisecond, Timeout: time.Second}},
	} {
		s, errs := parseOne(t, "services:\n  - name: a\n    command: [sleep, '1']\n    "+c.yaml+"\n")
		if len(errs) > 0 {
			t.Fatalf("%s: %v", c.yaml, errs)
		}
		if !reflect.DeepEqual(*s.Ready, c.want) {
			t.Errorf("%s: %+v, want %+v", c.yaml, *s.Ready, c.want)
		}
		if s.StartTimeout != services.DefaultStartTimeout {
			t.Errorf("%s: start-timeout %v, want the default", c.yaml, s.StartTimeout)
		}
	}
	s, errs := parseOne(t, "services:\n  - name: a\n    command: [sleep, '1']\n    ready: notify\n    watchdog: 30s\n    start-timeout: 5s\n    min-uptime: 1s\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if s.Watchdog != 30*time.Second || s.StartTimeout != 5*time.Second || s.MinUptime != time.Second {
		t.Fatalf("%+v", s)
	}
	p := services.PolicyOf(s)
	if want := (services.ReadyPolicy{Await: true, Notify: true, MinUptime: time.Second, StartTimeout: 5 * time.Second, Watchdog: 30 * time.Second}); p.Ready != want {
		t.Fatalf("policy %+v, want %+v", p.Ready, want)
	}
	// min-uptime alone: no readiness, no start-timeout.
	s, errs = parseOne(t, "services:\n  - name: a\n    command: [sleep, '1']\n    min-uptime: 1s\n")
	if len(errs) > 0 || s.Ready != nil || s.StartTimeout != 0 || services.PolicyOf(s).Ready != (services.ReadyPolicy{MinUptime: time.Second}) {
		t.Fatalf("%v %+v", errs, s)
	}
}

// TestReadyErrors: every mistake is reported at its line, saying what to
// write instead.
func TestReadyErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"    ready: yes\n", `s.yaml:4:12: ready: expected notify, {fd: N}, {tcp: HOST:PORT}, {http: URL} or {exec: COMMAND}, got "yes"`},
		{"    ready: [notify]\n", `s.yaml:4:12: ready: expected notify, {fd: N}, {tcp: HOST:PORT}, {http: URL} or {exec: COMMAND}, got a list`},
		{"    ready: {fd: 2}\n", `s.yaml:4:17: ready fd: 2 is not a descriptor 3..1023 (0, 1 and 2 are stdin, stdout and stderr)`},
		{"    ready: {tcp: 6379}\n", `s.yaml:4:18: ready tcp: "6379" is not HOST:PORT (such as 127.0.0.1:6379)`},
		{"    ready: {http: 'ftp://x/'}\n", `s.yaml:4:19: ready http: "ftp://x/" is not an http:// or https:// URL`},
		{"    ready: {tcp: 'a:1', http: 'http://a/'}\n", `s.yaml:4:12: ready: tcp and http: expected only one way to tell readiness`},
		{"    ready: {fd: 3, interval: 1s}\n", `s.yaml:4:20: ready: interval and timeout are for probes (tcp, http, exec), not for fd`},
		{"    ready: {port: 3}\n", `s.yaml:4:13: ready: unknown key "port" (expected one of fd, tcp, http, exec, and interval and timeout for a probe)`},
		{"    ready: {tcp: 'a:1', interval: 0}\n", `s.yaml:4:35: ready interval: must be more than 0`},
		{"    start-timeout: 10s\n", `s.yaml:4:20: service a: start-timeout bounds the wait for readiness: it needs a ready key (min-uptime alone is its own bound)`},
		{"    start-timeout: 0\n", `s.yaml:4:20: start-timeout: must be more than 0 (without it: 1m30s)`},
		{"    watchdog: 30s\n", `s.yaml:4:15: service a: watchdog needs ready: notify (the process pings with sd_notify's WATCHDOG=1)`},
		{"    ready: {fd: 3}\n    watchdog: 30s\n", `s.yaml:5:15: service a: watchdog needs ready: notify (the process pings with sd_notify's WATCHDOG=1)`},
		{"    ready: notify\n    pid-file: /run/a.pid\n", `s.yaml:4:12: service a: ready: notify and pid-file do not go together: a notify service names a new main process with MAINPID= instead`},
		{"    ready: notify\n    start-timeout: 1s\n    min-uptime: 2s\n", `s.yaml:6:17: service a: min-uptime 2s is not shorter than start-timeout 1s: every start would fail`},
		{"    ready: notify\n    one-shot: true\n", `s.yaml:4:12: service a: a one-shot service is done when its process exits: ready, min-uptime, start-timeout and watchdog do not apply`},
		{"    min-uptime: soon\n", `s.yaml:4:17: bad duration "soon" for min-uptime (examples: 100ms, 5s, 2m)`},
		{"    listen: [{tcp: '127.0.0.1:7'}, {tcp: '127.0.0.1:8'}]\n    ready: {fd: 4}\n", `s.yaml:5:12: service a: ready fd 4 is one of the sockets of listen (fds 3 to 4): use 5 or more`},
		{"    listen: [{tcp: '127.0.0.1:7'}]\n    socket-activation: inetd\n    min-uptime: 1s\n", `s.yaml:6:17: service a: an inetd-style service runs a process per connection, with no main process to be ready: ready, min-uptime, start-timeout and watchdog do not apply`},
	} {
		_, errs := parseOne(t, "services:\n  - name: a\n    command: [sleep, '1']\n"+c.yaml)
		if errs.Error() != c.want {
			t.Errorf("%q:\n got: %v\nwant: %s", c.yaml, errs, c.want)
		}
	}
	_, errs := parseOne(t, "services:\n  - name: m\n    ready: notify\n")
	if got := errs.Error(); !strings.Contains(got, "s.yaml:3:12: service m: ready, min-uptime, start-timeout and watchdog need a command") {
		t.Errorf("milestone: %v", got)
	}
}
