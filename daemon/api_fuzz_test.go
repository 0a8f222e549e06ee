package daemon

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// collect is a Responder that keeps what it is sent.
type collect struct {
	mu      sync.Mutex
	replies []wire.Reply
}

func (c *collect) Send(r wire.Reply) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.replies = append(c.replies, r)
	return true
}

// FuzzUnprivilegedGainsNothing is the hostile local user of issue 14 kept
// as a property: whatever frame a user who holds only status on web
// sends (any action, service, arguments, presented sturdyref, relayed
// flag), no service is stopped, restarted or loaded, and no answer shows
// another service's command line, another's capability, or the daemon's
// events.
func FuzzUnprivilegedGainsNothing(f *testing.F) {
	d, _ := startDaemon(f, `
services:
  - name: web
    command: [sleep, "3600"]
    actions:
      show:
        command: [echo]
  - name: db
    command: [sh, -c, 'exec sleep 3600', --password=hunter2]
`)
	var web, db wire.Status
	waitFor(f, "web and db running", func() bool {
		return call(f, d, wire.Request{Action: "status", Service: "web"}, &web) == nil && web.State == "running" &&
			call(f, d, wire.Request{Action: "status", Service: "db"}, &db) == nil && db.State == "running"
	})
	var grant wire.CapInfo
	if e := call(f, d, wire.Request{Action: "cap-grant", Args: []string{`{"service":"web","actions":["status"],"user":"nobody"}`}}, &grant); e != nil {
		f.Fatal(e)
	}
	var secret wire.CapInfo
	if e := call(f, d, wire.Request{Action: "cap-grant", Args: []string{`{"service":"db","actions":["status","stop"],"user":"root"}`}}, &secret); e != nil {
		f.Fatal(e)
	}
	secretRef, _ := capability.ParseSturdyref(secret.Ref)
	own := capability.Sturdyref{Peer: d.peerID, Swiss: capability.Swiss{9}, Addrs: []string{"/unix" + d.opts.SocketPath}}.String()
	other := "ocapn://12D3KooWDMamLiofwqYYXmELadEK3f3RNnT4aXyxrCixUxvfQ4Hj.libp2p/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?addr=/unix" + d.opts.SocketPath
	for _, seed := range []struct {
		action, service, args, cap string
		relayed                    bool
	}{
		{"events", "web", "", "", false},
		{"events", "web", "--service\x00db", "", false},
		{"history", "", "--service\x00db", "", false},
		{"log", "db", "-n\x0010", "", false},
		{"stop", "db", "", "", false},
		{"show", "web", "/etc/shadow", "", false},
		{"load", "", "/tmp/x.yaml", other, false},
		{"stop", "web", "", own, true},
		{"status", "", "", grant.Ref, false},
		{"status", "db", "", grant.Ref, false},
		{"cap-list", "", "{}", "", false},
		{"status", "db", "", "", false},
		{"cap-attenuate", "", `{"ref":"` + grant.Ref + `","actions":["status","stop"]}`, "", false},
		{"upgrade", "", "", "", false},
		{"exec", "exec", "--\x00id", "", false},
		{"spawn", "", `{"command":["id"],"wait":true}`, "", false},
		{"spawn", "", `{"command":["id"],"name":"x"}`, grant.Ref, false},
		{"spawn", "web", `{"command":["id"]}`, own, true},
		{"schedule", "", `{"command":["id"],"at":"2026-01-01T00:00:00Z"}`, "", false},
		{"schedule", "", `{"command":["id"],"at":"2026-01-01T00:00:00Z"}`, grant.Ref, false},
		{"trigger", "", "web", "", false},
		{"timers", "", "", "", false},
		{"relay-stream", "relay", "--follow\x00{\"name\":\"h\",\"ref\":\"" + grant.Ref + "\"}\x00{\"action\":\"log\",\"args\":[\"-f\"]}", "", false},
		{"relay-stream", "relay", "--follow\x00{\"name\":\"h\",\"ref\":\"" + grant.Ref + "\"}\x00{\"action\":\"log\",\"args\":[\"-f\"]}", grant.Ref, false},
	} {
		f.Add(seed.action, seed.service, seed.args, seed.cap, seed.relayed)
	}
	a := &api{d: d}
	f.Fuzz(func(t *testing.T, action, service, args, cap string, relayed bool) {
		req := wire.Request{ID: 1, Action: action, Service: service, Cap: cap, Relayed: relayed}
		if args != "" {
			req.Args = strings.Split(args, "\x00")
		}
		if action == "" {
			return // the decoder refuses it before any handler
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		out := &collect{}
		a.ServeRequest(ctx, local.Peer{UID: 65534}, req, out)
		out.mu.Lock()
		for _, r := range out.replies {
			b, _ := json.Marshal(r)
			text := string(b)
			for _, leak := range []string{"hunter2", `"kind":"capability"`, "daemon-start", secretRef.Swiss.String()} {
				if strings.Contains(text, leak) {
					t.Fatalf("%+v: the answer shows %q: %.300s", req, leak, text)
				}
			}
		}
		out.mu.Unlock()
		for name, was := range map[string]int{"web": web.PID, "db": db.PID} {
			var now wire.Status
			if e := call(t, d, wire.Request{Action: "status", Service: name}, &now); e != nil || now.PID != was || now.State != "running" {
				t.Fatalf("%+v: %s is %s with PID %d (was %d): %v", req, name, now.State, now.PID, was, e)
			}
		}
		var all wire.StatusAll
		if e := call(t, d, wire.Request{Action: "status"}, &all); e != nil || len(all.Services) != 2 {
			t.Fatalf("%+v: the daemon has %d services: %v", req, len(all.Services), e)
		}
	})
}

// TestRefusalsTakeOnePath: a refusal of an unknown service goes through
// the caretaker like that of a known one without a grant, so neither its
// text nor its work (and so its time) tells whether the service exists:
// both are audited by the caretaker.
func TestRefusalsTakeOnePath(t *testing.T) {
	d, _ := startDaemon(t, "services:\n  - name: db\n    command: [sleep, \"3600\"]\n")
	a := &api{d: d}
	var texts []string
	for i, service := range []string{"db", "nothere"} {
		out := &collect{}
		a.ServeRequest(context.Background(), local.Peer{UID: uint32(4242 + i)}, wire.Request{ID: 1, Action: "stop", Service: service}, out)
		if len(out.replies) != 1 || out.replies[0].OK {
			t.Fatalf("stop %s: %+v", service, out.replies)
		}
		texts = append(texts, strings.Replace(out.replies[0].Error.Message, service, "NAME", 1))
	}
	if texts[0] != texts[1] {
		t.Errorf("the refusals differ: %q and %q", texts[0], texts[1])
	}
	waitFor(t, "both refusals audited", func() bool {
		evs, err := d.history.Scan(history.Query{})
		if err != nil {
			t.Fatal(err)
		}
		audited := map[string]bool{}
		for _, e := range evs {
			if e.Kind == history.KindCapability && e.Action == "refuse stop" {
				audited[e.Service] = true
			}
		}
		return audited["db"] && audited["nothere"]
	})
}
