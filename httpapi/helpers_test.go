package httpapi_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/daemon"
	"github.com/shepherd-go/shepherd/httpapi"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// testDaemon is a real daemon in this process with its HTTP API on
// loopback, and what a test needs to talk to it.
type testDaemon struct {
	d      *daemon.Daemon
	socket string
	base   string
	client *http.Client
}

const config = `services:
  - name: web
    command: [sleep, "3600"]
    actions:
      hello: {command: [echo, hello from web], args: [{name: word, pattern: '[a-z]+'}]}
  - name: other
    command: [sleep, "3600"]
  - name: talker
    command: [sh, -c, "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.05; done"]
  - name: broken
    command: [/nonexistent/program]
    auto-start: false
    respawn: false
  - name: needs-broken
    requires: [broken]
    command: [sleep, "3600"]
    auto-start: false
  - name: pool
    command: [sleep, "3600"]
    instances: 2
`

func startDaemon(t testing.TB, cfg string, tune ...func(*daemon.Options)) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "services.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := daemon.Options{ConfigPath: path, SocketPath: filepath.Join(dir, "run", "socket"), StateDir: filepath.Join(dir, "state"),
		SocketGroup: -1, Log: io.Discard, NotSubreaper: true, NoCgroup: true, RemoteCallTimeout: 500 * time.Millisecond,
		HTTP: httpapi.Options{Addr: "127.0.0.1:0"}}
	for _, f := range tune {
		f(&opts)
	}
	d, err := daemon.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Shutdown)
	scheme := "http"
	if opts.HTTP.CertFile != "" {
		scheme = "https"
	}
	td := &testDaemon{d: d, socket: opts.SocketPath, base: scheme + "://" + d.HTTPAddr().String(),
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
	t.Cleanup(td.client.CloseIdleConnections)
	return td
}

// call sends req on the socket as the daemon's owner.
func (td *testDaemon) call(t testing.TB, req wire.Request, result any) *wire.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := local.Dial(ctx, td.socket)
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

// grant makes a capability as the owner (herd cap grant).
func (td *testDaemon) grant(t testing.TB, args wire.CapArgs) string {
	t.Helper()
	b, _ := json.Marshal(args)
	var info wire.CapInfo
	if e := td.call(t, wire.Request{Action: "cap-grant", Args: []string{string(b)}}, &info); e != nil {
		t.Fatalf("grant %+v: %v", args, e)
	}
	return info.Ref
}

func (td *testDaemon) revoke(t testing.TB, ref string) {
	t.Helper()
	b, _ := json.Marshal(wire.CapArgs{Ref: ref})
	if e := td.call(t, wire.Request{Action: "cap-revoke", Args: []string{string(b)}}, nil); e != nil {
		t.Fatalf("revoke: %v", e)
	}
}

func (td *testDaemon) admin(t testing.TB) string {
	return td.grant(t, wire.CapArgs{Service: "daemon", HTTP: true})
}

// do sends one request and reads the whole answer.
func (td *testDaemon) do(t testing.TB, method, path, token, body string) (int, []byte) {
	t.Helper()
	resp := td.open(t, method, path, token, body, nil)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (td *testDaemon) open(t testing.TB, method, path, token, body string, header http.Header) *http.Response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, td.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := td.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// getJSON asks for path and decodes a 200 answer into v.
func (td *testDaemon) getJSON(t testing.TB, path, token string, v any) {
	t.Helper()
	code, b := td.do(t, "GET", path, token, "")
	if code != 200 {
		t.Fatalf("GET %s: %d %s", path, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// errorOf decodes an error body.
func errorOf(t testing.TB, b []byte) *wire.Error {
	t.Helper()
	var body struct {
		Error *wire.Error `json:"error"`
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Error == nil {
		t.Fatalf("not an error body: %v: %s", err, b)
	}
	return body.Error
}

// sse reads the events of a text/event-stream.
type sse struct {
	resp *http.Response
	r    *bufio.Reader
}

type sseEvent struct {
	id, kind string
	data     []byte
}

func (s *sse) next(t testing.TB) sseEvent {
	t.Helper()
	var ev sseEvent
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.data != nil || ev.kind != "" {
				return ev
			}
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry:"):
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.kind = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = []byte(line[6:])
		}
	}
}

func (td *testDaemon) stream(t testing.TB, path, token string, header http.Header) *sse {
	t.Helper()
	resp := td.open(t, "GET", path, token, "", header)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sse{resp: resp, r: bufio.NewReader(resp.Body)}
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

// socketCall is call for goroutines other than the test's.
func socketCall(socket string, req wire.Request) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := local.Dial(ctx, socket)
	if err != nil {
		return err
	}
	defer c.Close()
	rep, err := c.Call(ctx, req)
	if err == nil && !rep.OK {
		err = rep.Error
	}
	return err
}
