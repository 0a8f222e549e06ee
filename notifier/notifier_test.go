package notifier_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/shepherd-go/shepherd/daemon"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/alerting"
)

// receiver is a webhook receiver on loopback that keeps what it got.
type receiver struct {
	mu   sync.Mutex
	got  []got
	srv  *httptest.Server
	fail bool
}

type got struct {
	alert  alerting.Alert
	header http.Header
	body   string
	method string
	path   string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var a alerting.Alert
		json.Unmarshal(b, &a)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		r.got = append(r.got, got{a, req.Header.Clone(), string(b), req.Method, req.URL.Path})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []got {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]got(nil), r.got...)
}

// mailbox is an SMTP server on loopback (go-smtp) that wants PLAIN
// credentials and keeps each message.
type mailbox struct {
	mu   sync.Mutex
	msgs []string
	auth []string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{m: m}, nil }

type mailSession struct {
	m      *mailbox
	authed bool
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		s.m.mu.Lock()
		defer s.m.mu.Unlock()
		s.m.auth = append(s.m.auth, user+":"+pass)
		if user != "shepherd" || pass != "SECRET-PW" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }
func (s *mailSession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return errors.New("authenticate first")
	}
	return nil
}
func (s *mailSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.m.msgs = append(s.m.msgs, string(b))
	return nil
}

func startMailbox(t *testing.T) (*mailbox, string) {
	m := &mailbox{}
	srv := smtp.NewServer(m)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // loopback: net/smtp sends PLAIN to localhost only
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return m, ln.Addr().String()
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func call(t *testing.T, sock string, req wire.Request, result any) *wire.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := local.Dial(ctx, sock)
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

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNotifications runs one real daemon (the reaper is process-wide: one
// at a time) through the cases that need one.
func TestNotifications(t *testing.T) {
	dir := t.TempDir()
	hook := newReceiver(t)
	down := newReceiver(t)
	down.fail = true
	other := newReceiver(t)
	fleet := newReceiver(t)
	mail, smtpAddr := startMailbox(t)
	out := filepath.Join(dir, "script.out")
	cfg := fmt.Sprintf(`services:
  - name: crashy
    command: [sh, -c, 'if [ -e %[1]s/OK ]; then exec sleep 1000; fi; sleep 0.05; exit 1']
    respawn-limit: unlimited
    respawn-delay: 50ms
  - name: far
    remote: "ocapn://12D3KooWDMamLiofwqYYXmELadEK3f3RNnT4aXyxrCixUxvfQ4Hj.libp2p/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?addr=/unix%[1]s/nobody"
monitors:
  - name: cpu
    interval: 1h
    thresholds: ["cpu.count >= 1"]
notify:
  recover-after: 3s
  retry-max: 100ms
  targets:
    hook:
      type: webhook
      url: %[2]s/alerts
      headers: {Authorization: "Bearer SECRET-TOKEN"}
      on-resolve: true
    down:
      type: webhook
      url: %[3]s/alerts?token=SECRET-URL
    mail:
      type: email
      smtp: %[4]s
      from: shepherd@example.com
      to: [ops@example.com]
      username: shepherd
      password: SECRET-PW
    chat:
      type: slack
      url: %[6]s/slack
    tpl:
      type: webhook
      url: %[6]s/tpl
      method: PUT
      body: '{"msg": {{json .Message}}, "k": {{json .Key}}, "s": "{{upper .Status}}"}'
    fl:
      type: webhook
      url: %[7]s/fleet
    page:
      type: script
      command: [/bin/sh, -c, 'cat > %[5]s; echo "$SHEPHERD_ALERT_STATUS $SHEPHERD_ALERT_KEY" > %[5]s.env']
  rules:
    - on: [service-failed, flapping, respawn-limit]
      services: [crashy]
      to: [hook]
    - on: [fleet-failed, proxy-unreachable, threshold]
      to: [fl]
`, dir, hook.srv.URL, down.srv.URL, smtpAddr, out, other.srv.URL, fleet.srv.URL)
	cfgPath := filepath.Join(dir, "services.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	log := &logBuf{}
	sock := filepath.Join(dir, "run", "socket")
	d, err := daemon.Start(daemon.Options{ConfigPath: cfgPath, SocketPath: sock, StateDir: filepath.Join(dir, "state"), SocketGroup: -1, Log: log, NotSubreaper: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()

	t.Run("CrashLoopIsOneAlert", func(t *testing.T) {
		waitFor(t, "the first alert", 20*time.Second, func() bool { return len(hook.all()) > 0 })
		// Let it crash several times more.
		respawns := func() int {
			var evs wire.Events
			call(t, sock, wire.Request{Action: "history", Service: "crashy"}, &evs)
			n := 0
			for _, e := range evs.Events {
				if e.Kind == "respawn" {
					n++
				}
			}
			return n
		}
		waitFor(t, "ten crashes", 30*time.Second, func() bool { return respawns() >= 10 })
		if g := hook.all(); len(g) != 1 || g[0].alert.Status != alerting.Firing || g[0].alert.Subject != "service crashy" {
			t.Fatalf("after %d crashes the receiver got %d alerts: %+v", respawns(), len(g), g)
		}
		first := hook.all()[0]
		if first.header.Get("Idempotency-Key") != first.alert.Key || first.alert.Key == "" || first.header.Get("Authorization") != "Bearer SECRET-TOKEN" {
			t.Errorf("headers %v, key %q", first.header, first.alert.Key)
		}
		// Recovery: the next start stays up; after recover-after, one
		// resolved message.
		os.WriteFile(filepath.Join(dir, "OK"), nil, 0o644)
		waitFor(t, "the resolved alert", 20*time.Second, func() bool { return len(hook.all()) >= 2 })
		time.Sleep(1500 * time.Millisecond) // nothing more comes
		g := hook.all()
		if len(g) != 2 || g[1].alert.Status != alerting.Resolved || g[1].alert.Incident != first.alert.Incident || g[1].alert.Key == first.alert.Key {
			t.Fatalf("got %+v", g)
		}
		var l alerting.Listing
		if werr := call(t, sock, wire.Request{Action: "incidents"}, &l); werr != nil {
			t.Fatal(werr)
		}
		// (The unreachable proxy's incident stays open: FleetRunAndProxy.)
		for _, inc := range l.Open {
			if inc.Subject == "service crashy" {
				t.Errorf("crashy's incident still open: %+v", inc)
			}
		}
		if len(l.Recent) != 1 || l.Recent[0].Failures < 10 || l.Recent[0].Notified["hook"].IsZero() {
			t.Errorf("incidents: %+v", l)
		}
		// Incidents and deliveries are history events.
		var evs wire.Events
		call(t, sock, wire.Request{Action: "events"}, &evs)
		kinds := map[string]int{}
		for _, e := range evs.Events {
			if e.Kind == "incident" || e.Kind == "notify" {
				kinds[e.Kind+" "+e.Action+" "+e.Result]++
			}
		}
		if kinds["incident open service-failed"] != 1 || kinds["incident close service-failed"] != 1 || kinds["notify hook delivered"] != 2 {
			t.Errorf("events: %v", kinds)
		}
	})

	// Fleet runs, proxies and monitors record history events of their
	// own, which open incidents as a service's do: a run with a failing
	// host, a remote service whose exporter cannot be reached, and a
	// threshold crossed (every host has a CPU).
	t.Run("FleetRunProxyAndThreshold", func(t *testing.T) {
		run, _ := json.Marshal(wire.FleetRun{Command: []string{"systemctl", "is-active", "nginx"}, Summary: "1 ok, 1 failed",
			Results: []wire.FleetHostResult{{Host: "a"}, {Host: "b", ExitCode: 3}}})
		if werr := call(t, sock, wire.Request{Action: "fleet-record", Args: []string{string(run)}}, nil); werr != nil {
			t.Fatal(werr)
		}
		subjects := func() map[string]int {
			got := map[string]int{}
			for _, g := range fleet.all() {
				got[g.alert.Subject+" "+string(g.alert.Status)]++
			}
			return got
		}
		waitFor(t, "the fleet run's, the proxy's and the threshold's alerts", 20*time.Second, func() bool { return len(subjects()) >= 3 })
		if got := subjects(); got["fleet systemctl is-active nginx firing"] != 1 || got["proxy far firing"] != 1 || got["threshold cpu.count >= 1 firing"] != 1 {
			t.Fatalf("alerts: %v", got)
		}
	})

	t.Run("Email", func(t *testing.T) {
		var res alerting.TestResult
		if werr := call(t, sock, wire.Request{Action: "notify-test", Args: []string{"mail"}}, &res); werr != nil {
			t.Fatal(werr)
		}
		mail.mu.Lock()
		defer mail.mu.Unlock()
		if len(mail.msgs) != 1 || !strings.Contains(mail.msgs[0], "Subject: [shepherd] TEST: test") ||
			!strings.Contains(mail.msgs[0], "X-Shepherd-Idempotency-Key: "+res.Key) || !strings.Contains(mail.msgs[0], "To: ops@example.com") {
			t.Errorf("mail: %q", mail.msgs)
		}
	})

	t.Run("Script", func(t *testing.T) {
		var res alerting.TestResult
		if werr := call(t, sock, wire.Request{Action: "notify-test", Args: []string{"page"}}, &res); werr != nil {
			t.Fatal(werr)
		}
		b, _ := os.ReadFile(out)
		var a alerting.Alert
		if err := json.Unmarshal(b, &a); err != nil || a.Key != res.Key || a.Status != alerting.Test {
			t.Errorf("stdin: %q (%v)", b, err)
		}
		env, _ := os.ReadFile(out + ".env")
		if string(env) != "test "+res.Key+"\n" {
			t.Errorf("environment: %q", env)
		}
	})

	t.Run("SlackAndTemplate", func(t *testing.T) {
		var res1, res2 alerting.TestResult
		if werr := call(t, sock, wire.Request{Action: "notify-test", Args: []string{"chat"}}, &res1); werr != nil {
			t.Fatal(werr)
		}
		if werr := call(t, sock, wire.Request{Action: "notify-test", Args: []string{"tpl"}}, &res2); werr != nil {
			t.Fatal(werr)
		}
		g := other.all()
		if len(g) != 2 {
			t.Fatalf("got %+v", g)
		}
		var slack map[string]string
		if json.Unmarshal([]byte(g[0].body), &slack) != nil || !strings.HasPrefix(slack["text"], "TEST from ") || slack["idempotency_key"] != res1.Key || g[0].path != "/slack" {
			t.Errorf("slack: %s %q", g[0].path, g[0].body)
		}
		var tpl map[string]string
		if json.Unmarshal([]byte(g[1].body), &tpl) != nil || tpl["k"] != res2.Key || tpl["s"] != "TEST" || g[1].method != "PUT" || g[1].header.Get("Idempotency-Key") != res2.Key {
			t.Errorf("template: %s %q", g[1].method, g[1].body)
		}
	})

	t.Run("FailureSaysWhyWithoutSecrets", func(t *testing.T) {
		werr := call(t, sock, wire.Request{Action: "notify-test", Args: []string{"down"}}, nil)
		if werr == nil || !strings.Contains(werr.Message, "503") || strings.Contains(werr.Message, "SECRET") {
			t.Errorf("error: %+v", werr)
		}
		if werr := call(t, sock, wire.Request{Action: "notify-test", Args: []string{"nope"}}, nil); werr == nil || !strings.Contains(werr.Message, "targets: chat, down, fl, hook, mail, page, tpl") {
			t.Errorf("unknown target: %+v", werr)
		}
	})

	d.Shutdown()
	if strings.Contains(log.String(), "SECRET") {
		t.Errorf("a secret in the daemon log:\n%s", log.String())
	}
}
