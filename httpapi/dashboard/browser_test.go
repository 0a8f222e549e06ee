package dashboard_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shepherd-go/shepherd/daemon"
	"github.com/shepherd-go/shepherd/httpapi"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

var update = flag.Bool("update", false, "also write the screenshots docs/img/dashboard.png and docs/img/dashboard-service.png")

// screenshotEnv names the directory the browser test saves its
// screenshots in (default: a temporary directory, gone after the test).
const screenshotEnv = "SHEPHERD_SCREENSHOTS"

// chromium finds Debian's chromium. In CI (CI set) a missing browser is
// a failure: the test would otherwise pass there without running.
func chromium(t *testing.T) string {
	for _, name := range []string{os.Getenv("SHEPHERD_CHROMIUM"), "chromium", "chromium-browser"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if ci := os.Getenv("CI"); ci != "" && ci != "0" && ci != "false" {
		t.Fatal("chromium is not installed (apt-get install chromium; .ci/run installs it)")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// daemonUnderTest is a real daemon in this process with its HTTP API on
// loopback.
type daemonUnderTest struct {
	d      *daemon.Daemon
	socket string
	base   string
}

func startDaemon(t *testing.T, cfg string, tune func(*daemon.Options)) *daemonUnderTest {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := daemon.Options{ConfigPath: path, SocketPath: filepath.Join(dir, "run", "socket"), StateDir: filepath.Join(dir, "state"),
		SocketGroup: -1, Log: io.Discard, NotSubreaper: true, NoCgroup: true, RemoteCallTimeout: time.Second}
	if tune != nil {
		tune(&opts)
	}
	d, err := daemon.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	du := &daemonUnderTest{d: d, socket: opts.SocketPath}
	if a := d.HTTPAddr(); a != nil {
		du.base = "http://" + a.String()
	}
	return du
}

// call sends req on the socket as the daemon's owner.
func (du *daemonUnderTest) call(t *testing.T, req wire.Request, result any) {
	t.Helper()
	if err := tryCall(du.socket, req, result); err != nil {
		t.Fatalf("%s %s: %v", req.Action, req.Service, err)
	}
}

// tryCall sends req on socket; a refusal is its error.
func tryCall(socket string, req wire.Request, result any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := local.Dial(ctx, socket)
	if err != nil {
		return err
	}
	defer c.Close()
	rep, err := c.Call(ctx, req)
	switch {
	case err != nil:
		return err
	case !rep.OK:
		return rep.Error
	case result != nil:
		return json.Unmarshal(rep.Result, result)
	}
	return nil
}

func (du *daemonUnderTest) grant(t *testing.T, args wire.CapArgs) string {
	t.Helper()
	b, _ := json.Marshal(args)
	var info wire.CapInfo
	du.call(t, wire.Request{Action: "cap-grant", Args: []string{string(b)}}, &info)
	return info.Ref
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fleetConfig is a daemon with 1000 services: a few that look like a
// real machine's (web needs db and cache; broken cannot start; flaky
// exits until its respawn limit disables it), the rest plain, and
// remote services of two other daemons, one of them gone.
func fleetConfig(in string, remotes map[string]string) string {
	var b strings.Builder
	b.WriteString(`services:
  - name: db
    command: [sleep, "3600"]
    documentation: the database
  - name: cache
    command: [sleep, "3600"]
  - name: web
    requires: [db, cache]
    documentation: the web front end; prints each request the test asks for
    command: [sh, -c, "echo listening on 127.0.0.1:8080; while :; do if [ -f ` + in + ` ]; then cat ` + in + `; rm -f ` + in + `; fi; sleep 0.1; done"]
  - name: worker
    requires: [db]
    command: [sleep, "3600"]
  - name: api
    requires: [db, cache]
    command: [sleep, "3600"]
  - name: broken
    command: [/nonexistent/program]
    respawn: false
  - name: flaky
    command: [sh, -c, "echo starting; sleep 0.3; echo lost the connection to db >&2; exit 3"]
  - name: backup
    command: [sleep, "3600"]
    auto-start: false
`)
	n := 8
	for name, ref := range remotes {
		fmt.Fprintf(&b, "  - name: %s\n    remote: %s\n", name, ref)
		n++
	}
	for i := 0; n < 1000; i++ {
		fmt.Fprintf(&b, "  - name: svc-%04d\n    command: [sleep, \"3600\"]\n", i)
		n++
	}
	return b.String()
}

// TestDashboardInChromium opens the dashboard of a daemon with 1000
// services in headless Chromium: the token typed once, every service
// listed, a stop clicked and its state changed in place, the service's
// page with a log line written after it opened, its graph and history,
// the fleet's hosts and a fleet run's grouped output. It fails on any
// script error or Content-Security-Policy violation in the page.
func TestDashboardInChromium(t *testing.T) {
	browser := chromium(t)
	shots := os.Getenv(screenshotEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// Two other daemons export services; one of them goes away: its host
	// is unreachable.
	sockA, _ := startExporter(t, "services:\n  - name: web\n  - name: db\n")
	sockB, stopB := startExporter(t, "services:\n  - name: web\n")
	expA, expB := &daemonUnderTest{socket: sockA}, &daemonUnderTest{socket: sockB}
	remote := func(exp *daemonUnderTest, name string) string {
		return exp.grant(t, wire.CapArgs{Service: name, Actions: []string{"status", "start", "stop"}})
	}
	remotes := map[string]string{"web-eu": remote(expA, "web"), "db-eu": remote(expA, "db"), "web-us": remote(expB, "web")}
	stopB()

	in := filepath.Join(t.TempDir(), "request")
	du := startDaemon(t, fleetConfig(in, remotes), func(o *daemon.Options) { o.HTTP = httpapi.Options{Addr: "127.0.0.1:0"} })
	token := du.grant(t, wire.CapArgs{Service: "daemon", HTTP: true})
	var unsettled []string
	waitFor(t, "1000 services started", 3*time.Minute, func() bool {
		var all wire.StatusAll
		du.call(t, wire.Request{Action: "status"}, &all)
		unsettled = unsettled[:0]
		for _, s := range all.Services {
			if s.Name != "flaky" && (s.State == wire.StateStarting || s.State == wire.StateStopping) {
				unsettled = append(unsettled, s.Name+" "+s.State)
			}
		}
		if len(unsettled) > 0 && len(unsettled) < 5 {
			t.Logf("unsettled: %v", unsettled)
		}
		return len(all.Services) == 1000 && len(unsettled) == 0
	})
	recordFleetRun(t, du)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox, // as root here and in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()

	// Script errors and CSP violations fail the test.
	var (
		mu       sync.Mutex
		problems []string
	)
	messages := chromedp.Console(ctx)
	consoleDone := make(chan struct{})
	// The reader ends with the browser's context, before the test does.
	defer func() { cancel(); <-consoleDone }()
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			text := m.String()
			if m.IsException() || m.Type == chromedp.ConsoleError && m.Source == "" || strings.Contains(text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, text)
				mu.Unlock()
			} else {
				t.Logf("console: %s", text)
			}
		}
	}()
	check := func(step string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(problems) > 0 {
			t.Fatalf("%s: the page reported:\n%s", step, strings.Join(problems, "\n"))
		}
	}
	shot := func(name string, docs string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(shots, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
		if *update && docs != "" {
			if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", docs), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot("failed.png", "")
			t.Fatalf("%s: %v", step, err)
		}
		check(step)
	}
	eval := func(step, expr string) any {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return v
	}
	poll := func(step, expr string) {
		t.Helper()
		run(step, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(90*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	}

	// The page and its assets need no token; data does.
	run("open the dashboard", chromedp.Navigate(du.base+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	shot("login.png", "")
	run("type the token", chromedp.SendKeys(chromedp.ID("token"), token))
	begin := time.Now()
	run("submit", chromedp.Click(chromedp.CSS("#login-form button[type=submit]")))
	poll("1000 services listed", `document.querySelectorAll('#services tbody tr').length === 1000`)
	t.Logf("1000 services listed %v after the token was submitted", time.Since(begin).Round(time.Millisecond))
	t.Logf("in the page: %v ms from the token's submission to 1000 rows drawn", eval("timing",
		`Math.round(performance.getEntriesByName('services-drawn')[0].startTime - performance.getEntriesByName('token-submitted')[0].startTime)`))
	poll("the event stream open", `document.querySelector('#conn').classList.contains('live')`)
	if stored := eval("the token kept in the tab", `sessionStorage.getItem('shepherd.token')`); stored != token {
		t.Fatalf("sessionStorage holds %q, not the token typed", stored)
	}
	poll("broken failed, backup stopped", `document.querySelector('#services tr[data-name="broken"]').dataset.state === 'failed' &&
		document.querySelector('#services tr[data-name="backup"]').dataset.state === 'stopped'`)
	shot("services.png", "dashboard.png")

	// Stop web from the list: its row changes without a reload.
	eval("mark the page", `window.__sameDocument = true`)
	run("filter", chromedp.SendKeys(chromedp.ID("filter"), "web"))
	poll("the filter applied", `[...document.querySelectorAll('#services tbody tr')].filter(r => !r.hidden).length === 3`)
	poll("web running", `document.querySelector('#services tr[data-name="web"]').dataset.state === 'running'`)
	begin = time.Now()
	run("click stop", chromedp.Click(chromedp.CSS(`#services tr[data-name="web"] button[data-act="stop"]`)))
	poll("web stopping or stopped in the list", `['stopping', 'stopped'].includes(document.querySelector('#services tr[data-name="web"]').dataset.state)`)
	t.Logf("the row of web changed %v after the click on stop", time.Since(begin).Round(time.Millisecond))
	poll("web stopped in the list", `document.querySelector('#services tr[data-name="web"]').dataset.state === 'stopped' &&
		document.querySelector('#services tr[data-name="web"] .st').textContent === 'stopped'`)
	if eval("no reload", `window.__sameDocument === true`) != true {
		t.Fatal("the page was reloaded")
	}
	var st wire.Status
	du.call(t, wire.Request{Service: "web", Action: "status"}, &st)
	if st.State != wire.StateStopped {
		t.Fatalf("the daemon says web is %s after the click on stop", st.State)
	}

	// The event stream dropped and resumed: what happened in between
	// arrives (Last-Event-ID), with no reload of the list.
	block := func(patterns ...*network.BlockPattern) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns})
			return err
		})
	}
	run("block the event stream", block(&network.BlockPattern{URLPattern: du.base + "/v1/events*", Block: true}), chromedp.Click(chromedp.ID("conn")))
	poll("the stream down", `!document.querySelector('#conn').classList.contains('live')`)
	du.call(t, wire.Request{Service: "api", Action: "stop"}, nil)
	run("unblock the event stream", block())
	poll("the stream back", `document.querySelector('#conn').classList.contains('live')`)
	poll("api's stop seen after the resumption", `document.querySelector('#services tr[data-name="api"]').dataset.state === 'stopped'`)

	// Its page: start it there, then a line it writes after the page
	// opened appears in the followed log.
	run("open web's page", chromedp.Click(chromedp.CSS(`#services tr[data-name="web"] td.name a`)))
	poll("web's page", `document.querySelector('#svc-name') && document.querySelector('#svc-name').textContent === 'web' && document.querySelector('#log').dataset.following === '1'`)
	run("click start", chromedp.Click(chromedp.CSS(`.svc-head button[data-act="start"]`)))
	poll("web running on its page", `document.querySelector('.svc-head .st').textContent === 'running'`)
	poll("the graph: db and cache required", `!!document.querySelector('#graph g.node[data-name="db"]') && !!document.querySelector('#graph g.node[data-name="cache"]')`)
	b := make([]byte, 6)
	rand.Read(b)
	marker := "GET /checkout?order=" + hex.EncodeToString(b) + " 200 12ms"
	for _, line := range []string{"GET /health 200 1ms", "GET / 200 4ms", marker} {
		tmp := in + ".tmp"
		if err := os.WriteFile(tmp, []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, in); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "web to read the request", time.Minute, func() bool { _, err := os.Stat(in); return errors.Is(err, os.ErrNotExist) })
	}
	poll("the new line in the followed log", `document.querySelector('#log').textContent.includes(`+jsString(marker)+`)`)
	poll("the history shows the stop and the start", `document.querySelectorAll('#main table.ev tr.state').length >= 4`)
	if eval("the same document still", `window.__sameDocument === true`) != true {
		t.Fatal("the page was reloaded")
	}
	shot("service.png", "dashboard-service.png")

	// A service with a failing history: its timeline has exits.
	run("open flaky's page", chromedp.Navigate(du.base+"/#/service/flaky"))
	poll("flaky's exits", `document.querySelectorAll('svg.timeline rect.exit.bad').length >= 2`)
	shot("flaky.png", "")

	// The fleet: two hosts, one reachable.
	run("open the fleet", chromedp.Navigate(du.base+"/#/fleet"))
	poll("two hosts, one down", `document.querySelectorAll('.host').length === 2 && document.querySelectorAll('.host.down').length === 1`)
	shot("fleet.png", "")

	// A fleet run: hosts with the same output in one group.
	run("open the run", chromedp.Navigate(du.base+"/#/runs/1"))
	poll("three groups", `document.querySelectorAll('.group').length === 3`)
	if first, _ := eval("failures first", `document.querySelector('.group h3').textContent`).(string); !strings.Contains(first, "failed") {
		t.Fatalf("the first group is %q, not the failures", first)
	}
	shot("run.png", "")

	// Another token, on web only: the page shows web and nothing else.
	webOnly := du.grant(t, wire.CapArgs{Service: "web", Actions: []string{"status", "start", "stop", "restart"}, HTTP: true})
	run("forget the token", chromedp.Navigate(du.base+"/#/"), chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.ID("token")))
	if stored := eval("the token forgotten", `sessionStorage.getItem('shepherd.token')`); stored != nil {
		t.Fatalf("sessionStorage still holds %v", stored)
	}
	run("type web's token", chromedp.SendKeys(chromedp.ID("token"), webOnly), chromedp.Click(chromedp.CSS("#login-form button[type=submit]")))
	poll("web alone listed", `document.querySelectorAll('#services tbody tr').length === 1 && !!document.querySelector('#services tr[data-name="web"]')`)
	poll("its events live", `document.querySelector('#conn').classList.contains('live')`)
	run("web's page", chromedp.Navigate(du.base+"/#/service/web"))
	poll("its requirements from its status", `!!document.querySelector('#graph g.node[data-name="db"]') && document.querySelector('#log').dataset.following === '1'`)
	run("the fleet", chromedp.Navigate(du.base+"/#/fleet"))
	poll("the fleet refused", `document.querySelector('#main .error') && document.querySelector('#main .error').textContent.includes('admin capability')`)
	if n := eval("no other service named", `['db-eu', 'svc-0001', 'flaky'].filter(n => document.body.textContent.includes(n)).length`); n != float64(0) {
		t.Fatalf("the page names %v services that web's token does not cover", n)
	}
	check("the end")

	// The CSP holds: a script injected inline does not run.
	if ran := eval("an inline script", `(() => { const s = document.createElement('script'); s.textContent = 'window.__injected = 1'; document.body.append(s); return window.__injected === 1; })()`); ran != false {
		t.Fatal("an inline script ran: the Content-Security-Policy does not hold")
	}
	waitFor(t, "the CSP's report of the refused script", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(problems) > 0 && strings.Contains(strings.Join(problems, " "), "Content Security Policy")
	})
}

// recordFleetRun stores a fleet run as herd fleet exec does.
func recordFleetRun(t *testing.T, du *daemonUnderTest) {
	run := wire.FleetRun{Time: time.Now().Add(-3 * time.Minute), Command: []string{"uptime"}, Selector: "web-*", Summary: "4 ok, 2 failed"}
	for i, host := range []string{"web-1", "web-2", "web-3", "web-4"} {
		run.Results = append(run.Results, wire.FleetHostResult{Host: host, Output: " 10:12:01 up 41 days,  3:05,  0 users,  load average: 0.08, 0.03, 0.01\n", Duration: 0.12 + float64(i)/100})
	}
	run.Results = append(run.Results,
		wire.FleetHostResult{Host: "web-5", Output: "uptime: /proc must be mounted\n", ExitCode: 1, Duration: 0.2},
		wire.FleetHostResult{Host: "web-6", Kind: "unreachable", Err: "dial: connection refused", ExitCode: -1, Duration: 3})
	b, _ := json.Marshal(run)
	du.call(t, wire.Request{Action: "fleet-record", Args: []string{string(b)}}, nil)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
