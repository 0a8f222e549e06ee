package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// syncBuffer is a daemon log the test can read while the daemon writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startDaemon runs a daemon in this process on config. Only one runs at a
// time: the reaper is process-wide (style P10), so these tests never run
// in parallel and never use exec.Cmd.Wait.
func startDaemon(t testing.TB, config string, tune ...func(*Options)) (*Daemon, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &syncBuffer{}
	opts := Options{ConfigPath: cfg, SocketPath: filepath.Join(dir, "run", "socket"), StateDir: filepath.Join(dir, "state"), SocketGroup: -1, Log: log, NotSubreaper: true}
	for _, f := range tune {
		f(&opts)
	}
	d, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	return d, log
}

// dial connects to d for the rest of the test, with 10 s for all of it
// (call connects for one request).
func dial(t *testing.T, d *Daemon) (context.Context, *local.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	c, err := local.Dial(ctx, d.opts.SocketPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return ctx, c
}

func call(t testing.TB, d *Daemon, req wire.Request, result any) *wire.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := local.Dial(ctx, d.opts.SocketPath)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rep, err := c.Call(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		return rep.Error
	}
	if result != nil {
		if err := json.Unmarshal(rep.Result, result); err != nil {
			t.Fatal(err)
		}
	}
	return nil
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShutdownLeavesNoGoroutines: every goroutine the daemon starts ends
// with Shutdown (style rule 6), so a daemon can be embedded and stopped,
// and none holds Shutdown up (issue 15, defect 7): not a URL hook whose
// server never answers, nor the output of an action or of an exec'd
// command that a process they left behind (in a session of its own)
// holds open. Before, Shutdown waited for each of these forever.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	// os/signal starts one goroutine for the life of the process.
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR2)
	signal.Stop(c)
	// A hook server that takes the request and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	defer func() {
		ln.Close()
		close(held)
		for c := range held {
			c.Close()
		}
	}()
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	holders := filepath.Join(dir, "holders")
	// The processes left behind outlive the daemon: they go at the end.
	defer func() {
		b, _ := os.ReadFile(holders)
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}()
	hold := fmt.Sprintf(`setsid sleep 3600 & echo $! >> %s; echo started`, holders)
	cfg := filepath.Join(dir, "services.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`services:
  - name: s
    command: [sh, -c, 'echo hi; exec sleep 3600']
    actions:
      hold: {command: [sh, -c, '%s']}
  - name: hooked
    command: [sh, -c, 'exit 1']
    respawn: false
    on-exit: {url: "http://%s/hook", timeout: 1h}
`, hold, ln.Addr())), 0o644)
	d, err := Start(Options{ConfigPath: cfg, SocketPath: filepath.Join(dir, "run", "socket"), StateDir: filepath.Join(dir, "state"), SocketGroup: -1, Log: &syncBuffer{}, NotSubreaper: true})
	if err != nil {
		t.Fatal(err)
	}
	var st wire.Status
	waitFor(t, "s running", func() bool {
		return call(t, d, wire.Request{Action: "status", Service: "s"}, &st) == nil && st.State == "running"
	})
	var conn net.Conn
	select {
	case conn = <-held:
		held <- conn
	case <-time.After(20 * time.Second):
		t.Fatal("the hook was not called")
	}
	// An action and an exec whose output stays open: their requests are
	// in flight when the daemon stops.
	var clients sync.WaitGroup
	for _, req := range []wire.Request{
		{Action: "hold", Service: "s"},
		{Action: "exec", Args: []string{"--timeout", "1h", "--", "sh", "-c", hold}},
	} {
		clients.Add(1)
		go func() {
			defer clients.Done()
			cl, err := local.Dial(context.Background(), d.opts.SocketPath)
			if err != nil {
				return
			}
			defer cl.Close()
			cl.Call(context.Background(), req)
		}()
	}
	waitFor(t, "the action and the command to leave their holders", func() bool {
		b, _ := os.ReadFile(holders)
		return len(strings.Fields(string(b))) == 2
	})
	stopped := make(chan struct{})
	go func() { d.Shutdown(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("Shutdown did not return:\n%s", buf[:runtime.Stack(buf, true)])
	}
	clients.Wait()
	end := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after shutdown:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestFailedStartLetsGoOfEverything: a start that fails half-way (here at
// the network, after the actors, the pump and the reaper started; and at
// the socket, before them) leaves no goroutine behind and lets go of the
// state directory and the socket, so that the next start succeeds.
func TestFailedStartLetsGoOfEverything(t *testing.T) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR2)
	signal.Stop(c)
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "services.yaml")
	os.WriteFile(cfg, []byte("services:\n  - name: s\n    command: [sleep, \"3600\"]\n"), 0o644)
	opts := Options{ConfigPath: cfg, SocketPath: filepath.Join(dir, "run", "socket"), StateDir: filepath.Join(dir, "state"),
		SocketGroup: -1, Log: &syncBuffer{}, NotSubreaper: true}
	bad := opts
	bad.Listen = []string{"/not/a/multiaddr"}
	if _, err := Start(bad); err == nil {
		t.Fatal("a start with a bad listen address succeeded")
	}
	squatted := opts
	squatted.SocketPath = filepath.Join(dir, "file", "socket")
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o600) // the socket's directory is a file
	if _, err := Start(squatted); err == nil {
		t.Fatal("a start on an impossible socket succeeded")
	}
	end := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after failed starts:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
	d, err := Start(opts)
	if err != nil {
		t.Fatalf("a start after failed ones: %v", err)
	}
	d.Shutdown()
}

// TestRetentionRemovesOldEvents: events older than the retention are
// removed in the background when the daemon starts; newer ones stay.
func TestRetentionRemovesOldEvents(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	store, err := history.Open(filepath.Join(state, "history"))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	store.Append([]history.Event{{Seq: 1, Time: old, Service: "a", Kind: history.KindStart}, {Seq: 2, Time: old, Kind: history.KindLoad}}, true)
	store.Close()

	cfg := filepath.Join(dir, "services.yaml")
	os.WriteFile(cfg, []byte("history-retention: 1d\nservices:\n  - name: a\n"), 0o644)
	d, err := Start(Options{ConfigPath: cfg, SocketPath: filepath.Join(dir, "run", "socket"), StateDir: state, SocketGroup: -1, Log: &syncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()
	waitFor(t, "old events removed", func() bool {
		evs, err := d.history.Scan(history.Query{Until: time.Now().Add(-time.Hour)})
		return err == nil && len(evs) == 0
	})
	evs, _ := d.history.Scan(history.Query{})
	if len(evs) == 0 || evs[0].Seq != 3 {
		t.Fatalf("recent events should stay and numbering continue after 2: %+v", evs)
	}
}

// TestURLHookPostsJSON: an on-exit hook with a url POSTs the event as JSON
// to a real HTTP server on loopback, and its outcome is history.
func TestURLHookPostsJSON(t *testing.T) {
	got := make(chan map[string]string, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		if r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/json" && json.NewDecoder(r.Body).Decode(&body) == nil {
			got <- body
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	d, _ := startDaemon(t, `
services:
  - name: once
    command: [sh, -c, 'exit 5']
    respawn: false
    on-exit: {url: "`+srv.URL+`/hook", timeout: 2s}
`)
	select {
	case body := <-got:
		if body["SERVICE"] != "once" || body["EVENT"] != "on-exit" || body["EXIT_CODE"] != "5" || body["PID"] == "" {
			t.Fatalf("hook body %v", body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the hook was not called")
	}
	waitFor(t, "the hook's outcome in history", func() bool {
		evs, _ := d.history.Scan(history.Query{Service: "once"})
		for _, e := range evs {
			if e.Kind == history.KindHook && e.Action == "on-exit" && e.Result == "HTTP 204" {
				return true
			}
		}
		return false
	})
}

// TestAnswersCarryTheSeqOfTheirChange: the answer to an action and to a
// status names the history event of the change it reflects, so that a
// proxy can order answers against the events it follows.
func TestAnswersCarryTheSeqOfTheirChange(t *testing.T) {
	d, _ := startDaemon(t, "services:\n  - name: web\n    command: [sleep, \"3600\"]\n    auto-start: false\n")
	ctx, c := dial(t, d)
	lastState := func() wire.Event {
		rep, err := c.Call(ctx, wire.Request{Action: "history", Service: "web"})
		if err != nil || !rep.OK {
			t.Fatalf("history: %v %+v", err, rep.Error)
		}
		var evs wire.Events
		json.Unmarshal(rep.Result, &evs)
		var last wire.Event
		for _, e := range evs.Events {
			if e.Kind == history.KindState {
				last = e
			}
		}
		return last
	}
	for _, action := range []string{"start", "stop"} {
		rep, err := c.Call(ctx, wire.Request{Action: action, Service: "web"})
		if err != nil || !rep.OK {
			t.Fatalf("%s: %v %+v", action, err, rep.Error)
		}
		e := lastState()
		if rep.Seq == 0 || rep.Seq != e.Seq {
			t.Errorf("%s answered with seq %d; the last state event is %d (%s)", action, rep.Seq, e.Seq, e.State)
		}
		st, err := c.Call(ctx, wire.Request{Action: "status", Service: "web"})
		if err != nil || st.Seq != e.Seq {
			t.Errorf("status after %s: seq %d, want %d (%v)", action, st.Seq, e.Seq, err)
		}
	}
}
