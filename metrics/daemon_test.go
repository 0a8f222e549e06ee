package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/daemon"
	"github.com/shepherd-go/shepherd/internal/httpguard"
	"github.com/shepherd-go/shepherd/metrics"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// logBuffer is a daemon log the test can read while the daemon writes.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// started is a daemon run by a test, with its metrics on loopback.
type started struct {
	d      *daemon.Daemon
	socket string
	url    string
	log    *logBuffer
}

// startDaemon runs a daemon in this process on config, serving its
// metrics on a free loopback port. One at a time: the reaper is
// process-wide.
func startDaemon(t testing.TB, config string, public bool) *started {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &logBuffer{}
	s := &started{socket: filepath.Join(dir, "run", "socket"), log: log}
	d, err := daemon.Start(daemon.Options{ConfigPath: cfg, SocketPath: s.socket, StateDir: filepath.Join(dir, "state"), SocketGroup: -1,
		Log: log, NotSubreaper: true, Metrics: metrics.Options{Addr: "127.0.0.1:0", Public: public}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	s.d = d
	addr := d.MetricsAddr()
	if addr == nil {
		t.Fatalf("the daemon serves no metrics; log:\n%s", log)
	}
	s.url = "http://" + addr.String() + "/metrics"
	return s
}

// call sends one request on the socket; result gets the reply's result.
func (s *started) call(t testing.TB, req wire.Request, result any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := local.Dial(ctx, s.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rep, err := c.Call(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("%s %s: %s: %s", req.Action, req.Service, rep.Error.Kind, rep.Error.Message)
	}
	if result != nil {
		if err := json.Unmarshal(rep.Result, result); err != nil {
			t.Fatal(err)
		}
	}
}

// grant returns a new capability with actions on target.
func (s *started) grant(t testing.TB, target string, actions ...string) string {
	t.Helper()
	b, _ := json.Marshal(wire.CapArgs{Service: target, Actions: actions})
	var info wire.CapInfo
	s.call(t, wire.Request{Action: "cap-grant", Args: []string{string(b)}}, &info)
	return info.Ref
}

// scrape gets /metrics with token (none if empty).
func (s *started) scrape(t testing.TB, token string) (int, string) {
	t.Helper()
	if token != "" {
		token = "Bearer " + token
	}
	return s.scrapeWith(t, token)
}

// scrapeWith scrapes with an Authorization header (none if empty).
func (s *started) scrapeWith(t testing.TB, authorization string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.url, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// pid is the main process of a running service, once it runs.
func (s *started) pid(t testing.TB, name string) int {
	t.Helper()
	var st wire.Status
	waitFor(t, name+" to run", 20*time.Second, func() error {
		st = wire.Status{}
		s.call(t, wire.Request{Action: "status", Service: name}, &st)
		if st.State != wire.StateRunning || st.PID <= 1 {
			return fmt.Errorf("%s is %s, pid %d", name, st.State, st.PID)
		}
		return nil
	})
	return st.PID
}

// kill9 kills a service's process with SIGKILL (never a group: pid > 1).
func kill9(t testing.TB, pid int) {
	t.Helper()
	if pid <= 1 {
		t.Fatalf("no process to kill: pid %d", pid)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t testing.TB, what string, within time.Duration, cond func() error) {
	t.Helper()
	end := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const threeServices = `
services:
  - name: alpha
    command: [/bin/sleep, "1000"]
  - name: beta
    command: [/bin/sleep, "1000"]
  - name: gamma
    command: [/bin/sleep, "1000"]
    auto-start: false
`

// TestNoCapabilityNoMetrics: without a token (and not public) a scrape
// is 401 and names no service; a bad token is refused the same way; a
// service's capability reads that service's series and no other's, nor
// the daemon's; the daemon's own capability reads everything; a revoked
// one is refused at its next scrape.
func TestNoCapabilityNoMetrics(t *testing.T) {
	s := startDaemon(t, threeServices, false)
	s.pid(t, "alpha")
	s.pid(t, "beta")
	for _, token := range []string{"", "nonsense", "ocapn://12D3KooWLWPkU3g9kMo7LQj3YQZzWRXGKh9b4zUE8UjmBCVmiT6d.libp2p/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		code, body := s.scrape(t, token)
		if code != http.StatusUnauthorized {
			t.Errorf("token %q: status %d, want 401", token, code)
		}
		for _, name := range []string{"alpha", "beta", "gamma", "shepherd_"} {
			if strings.Contains(body, name) {
				t.Errorf("token %q: the refusal says %q:\n%s", token, name, body)
			}
		}
	}
	alpha := s.grant(t, "alpha", "status")
	code, body := s.scrape(t, alpha)
	if code != http.StatusOK || !strings.Contains(body, `shepherd_service_up{service="alpha"} 1`) {
		t.Fatalf("alpha's capability: %d\n%s", code, body)
	}
	for _, other := range []string{"beta", "gamma", "shepherd_history", "go_goroutines", "shepherd_fleet"} {
		if strings.Contains(body, other) {
			t.Errorf("alpha's capability sees %q:\n%s", other, body)
		}
	}
	// A capability that does not allow status reads nothing.
	if code, _ := s.scrape(t, s.grant(t, "beta", "start")); code != http.StatusUnauthorized {
		t.Errorf("a capability without status: %d, want 401", code)
	}
	all := s.grant(t, wire.RootService, "status")
	code, body = s.scrape(t, all)
	if code != http.StatusOK {
		t.Fatalf("the daemon's capability: %d\n%s", code, body)
	}
	for _, want := range []string{`shepherd_service_up{service="beta"} 1`, `shepherd_service_up{service="gamma"} 0`, "shepherd_history_commits_total", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("the daemon's capability does not see %q", want)
		}
	}
	// The HTTP API's admin capability (herd cap grant daemon --to-http)
	// reads everything; a grant bound to a user does not serve a scraper.
	admin, _ := json.Marshal(wire.CapArgs{Service: "daemon", HTTP: true})
	var info wire.CapInfo
	s.call(t, wire.Request{Action: "cap-grant", Args: []string{string(admin)}}, &info)
	if code, body := s.scrape(t, info.Ref); code != http.StatusOK || !strings.Contains(body, `shepherd_service_up{service="gamma"} 0`) {
		t.Errorf("the admin capability: %d\n%s", code, body)
	}
	toRoot, _ := json.Marshal(wire.CapArgs{Service: "alpha", Actions: []string{"status"}, User: "root"})
	s.call(t, wire.Request{Action: "cap-grant", Args: []string{string(toRoot)}}, &info)
	if code, _ := s.scrape(t, info.Ref); code != http.StatusUnauthorized {
		t.Errorf("a capability bound to a user: %d, want 401", code)
	}
	b, _ := json.Marshal(wire.CapArgs{Ref: alpha})
	s.call(t, wire.Request{Action: "cap-revoke", Args: []string{string(b)}}, nil)
	if code, body := s.scrape(t, alpha); code != http.StatusUnauthorized || strings.Contains(body, "alpha") {
		t.Errorf("a revoked capability: %d\n%s", code, body)
	}
}

// TestGuessersAreShutOut: the metrics listener answers bad tokens as the
// API's does. A client that guesses is shut out for a while (429), a
// token accepted before still passes from its address (every local user
// shares 127.0.0.1), and the scheme's case does not matter.
func TestGuessersAreShutOut(t *testing.T) {
	s := startDaemon(t, threeServices, false)
	all := s.grant(t, wire.RootService, "status")
	if code, body := s.scrapeWith(t, "bearer "+all); code != http.StatusOK {
		t.Fatalf("lower-case scheme: %d\n%s", code, body)
	}
	guess := "ocapn://12D3KooWLWPkU3g9kMo7LQj3YQZzWRXGKh9b4zUE8UjmBCVmiT6d.libp2p/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for i := range httpguard.Strikes {
		if code, _ := s.scrape(t, guess); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, code)
		}
	}
	if code, body := s.scrape(t, guess); code != http.StatusTooManyRequests || strings.Contains(body, "alpha") {
		t.Fatalf("after %d guesses: %d, want 429\n%s", httpguard.Strikes, code, body)
	}
	if code, _ := s.scrape(t, all); code != http.StatusOK {
		t.Fatalf("a token accepted before, from a shut-out address: %d", code)
	}
}

// TestPromtoolChecksAScrape: a whole scrape passes `promtool check
// metrics` (names, types, help, units, histograms).
func TestPromtoolChecksAScrape(t *testing.T) {
	promtool := lookBin(t, "promtool")
	s := startDaemon(t, threeServices, true)
	// Something in every family: an exit, a restart.
	kill9(t, s.pid(t, "alpha"))
	waitFor(t, "alpha's restart", 20*time.Second, func() error {
		_, body := s.scrape(t, "")
		if !strings.Contains(body, `shepherd_service_restarts_total{service="alpha"} 1`) {
			return fmt.Errorf("no restart yet")
		}
		return nil
	})
	code, body := s.scrape(t, "")
	if code != http.StatusOK {
		t.Fatalf("public scrape: %d", code)
	}
	s.d.Shutdown() // its reaper would take promtool's exit status
	out, err := runWithInput(t, body, promtool, "check", "metrics")
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestFleetRunsCounted: a fleet run recorded by herd counts in the
// fleet's series, with the hosts where it failed.
func TestFleetRunsCounted(t *testing.T) {
	s := startDaemon(t, threeServices, true)
	run, _ := json.Marshal(wire.FleetRun{Command: []string{"uptime"}, Results: []wire.FleetHostResult{
		{Host: "web-1", Duration: 0.25}, {Host: "web-2", ExitCode: 2, Duration: 1.5}}})
	s.call(t, wire.Request{Action: "fleet-record", Args: []string{string(run)}}, nil)
	_, body := s.scrape(t, "")
	for _, want := range []string{"\nshepherd_fleet_runs_total 1\n", "\nshepherd_fleet_run_duration_seconds_sum 1.5\n",
		"\nshepherd_fleet_host_runs_total{host=\"web-1\"} 1\n", "\nshepherd_fleet_host_failures_total{host=\"web-1\"} 0\n",
		"\nshepherd_fleet_host_failures_total{host=\"web-2\"} 1\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("the scrape lacks %q", strings.TrimSpace(want))
		}
	}
}

// TestProxyReachabilityAndRTT: a remote service's proxy reports its
// exporter reachable with the round trip of its pings, and unreachable
// once the exporter is gone. (The exporter's service is a milestone:
// two daemons in one test process must not both have processes to reap.)
func TestProxyReachabilityAndRTT(t *testing.T) {
	exp := startDaemon(t, "services:\n  - name: web\n", true)
	ref := exp.grant(t, "web", "status", "start", "stop")
	imp := startDaemon(t, "services:\n  - name: web-remote\n    remote: "+ref+"\n", true)
	waitFor(t, "a ping's round trip", 30*time.Second, func() error {
		_, body := imp.scrape(t, "")
		if !strings.Contains(body, "\nshepherd_proxy_reachable{service=\"web-remote\"} 1\n") ||
			!strings.Contains(body, "\nshepherd_proxy_rtt_seconds{service=\"web-remote\"} ") {
			return fmt.Errorf("no round trip yet")
		}
		if strings.Contains(body, "shepherd_service_restarts_total{service=\"web-remote\"}") {
			t.Errorf("a proxy has process tallies:\n%s", body)
		}
		return nil
	})
	exp.d.Shutdown()
	waitFor(t, "the exporter unreachable", 30*time.Second, func() error {
		_, body := imp.scrape(t, "")
		if !strings.Contains(body, "\nshepherd_proxy_reachable{service=\"web-remote\"} 0\n") ||
			!strings.Contains(body, "\nshepherd_service_state{service=\"web-remote\",state=\"unreachable\"} 1\n") {
			return fmt.Errorf("still reachable")
		}
		return nil
	})
}
