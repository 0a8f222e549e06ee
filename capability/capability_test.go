package capability

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func swiss(b byte) Swiss {
	var s Swiss
	for i := range s {
		s[i] = b
	}
	return s
}

func uid(n uint32) *uint32 { return &n }

func TestSturdyrefRoundTrip(t *testing.T) {
	r := Sturdyref{Peer: "12D3KooWAbc", Swiss: swiss(7), Addrs: []string{"/ip4/127.0.0.1/tcp/4001", "/ip4/10.0.0.5/udp/4001/quic-v1"}}
	text := r.String()
	if !strings.HasPrefix(text, "ocapn://12D3KooWAbc.libp2p/s/"+swiss(7).String()+"?addr=") {
		t.Fatalf("format: %s", text)
	}
	got, err := ParseSturdyref(text)
	if err != nil {
		t.Fatal(err)
	}
	if got.Peer != r.Peer || !got.Swiss.Equal(r.Swiss) || len(got.Addrs) != 2 || got.Addrs[0] != r.Addrs[0] {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestParseSturdyrefErrors(t *testing.T) {
	good := swiss(1).String()
	for in, want := range map[string]string{
		"http://x.libp2p/s/" + good:                        "must start with ocapn://",
		"ocapn://12D3KooW.libp2p":                          "no /s/<swiss> path",
		"ocapn://12D3KooW.onion/s/" + good:                 "the host must be <peer-id>.libp2p",
		"ocapn://12D3-KooW.libp2p/s/" + good:               "is not a libp2p peer ID",
		"ocapn://12D3KooW.libp2p/x/" + good:                "the path must be /s/<swiss>",
		"ocapn://12D3KooW.libp2p/s/abc":                    "swiss number: 2 bytes, want 32",
		"ocapn://12D3KooW.libp2p/s/" + good[:42] + "!":     "not base64url",
		"ocapn://12D3KooW.libp2p/s/" + good + "?peer=x":    `unknown query parameter "peer"`,
		"ocapn://12D3KooW.libp2p/s/" + good + "?addr=ip4":  "is not a multiaddr",
		"ocapn://12D3KooW.libp2p/s/" + good + "?addr=%zz1": "query:",
	} {
		_, err := ParseSturdyref(in)
		if err == nil || !errors.Is(err, ErrBadSturdyref) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}

func TestSwissEqualAndRandom(t *testing.T) {
	a, err := NewSwiss()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSwiss()
	if a.Equal(b) || !a.Equal(a) {
		t.Fatal("two fresh swiss numbers are equal, or one differs from itself")
	}
	c := a
	c[31] ^= 1
	if a.Equal(c) {
		t.Fatal("a one-bit difference went unnoticed")
	}
}

func TestCheck(t *testing.T) {
	root := Grant{Swiss: swiss(1), Target: "web", Actions: []string{"start", "stop", "status"}, Holder: Holder{UID: uid(1000)}, Expires: now.Add(time.Hour)}
	child := Grant{Swiss: swiss(2), Target: "web", Actions: []string{"status"}, Holder: Holder{UID: uid(1000)}, Parent: &root.Swiss}
	store := map[Swiss]Grant{root.Swiss: root, child.Swiss: child}
	lookup := func(s Swiss) (Grant, bool) { g, ok := store[s]; return g, ok }
	alice := Holder{UID: uid(1000)}
	for _, tc := range []struct {
		name string
		g    Grant
		req  Request
		at   time.Time
		want error
	}{
		{"allowed", root, Request{Target: "web", Action: "start", Holder: alice}, now, nil},
		{"action not granted", root, Request{Target: "web", Action: "restart", Holder: alice}, now, ErrDenied},
		{"other service", root, Request{Target: "db", Action: "start", Holder: alice}, now, ErrDenied},
		{"other user", root, Request{Target: "web", Action: "start", Holder: Holder{UID: uid(1001)}}, now, ErrDenied},
		{"no uid", root, Request{Target: "web", Action: "start", Holder: Holder{Peer: "12D3"}}, now, ErrDenied},
		{"expired", root, Request{Target: "web", Action: "start", Holder: alice}, now.Add(time.Hour), ErrExpired},
		{"child allowed", child, Request{Target: "web", Action: "status", Holder: alice}, now, nil},
		{"child narrower", child, Request{Target: "web", Action: "stop", Holder: alice}, now, ErrDenied},
		{"child of an expired parent", child, Request{Target: "web", Action: "status", Holder: alice}, now.Add(2 * time.Hour), ErrExpired},
	} {
		if err := Check(tc.g, lookup, tc.req, tc.at); !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	// Revoking the parent revokes the child at once.
	root.Revoked = true
	store[root.Swiss] = root
	if err := Check(child, lookup, Request{Target: "web", Action: "status", Holder: alice}, now); !errors.Is(err, ErrRevoked) {
		t.Fatalf("child of a revoked parent: %v", err)
	}
	// A parent that is gone from the store counts as revoked.
	delete(store, root.Swiss)
	if err := Check(child, lookup, Request{Target: "web", Action: "status", Holder: alice}, now); !errors.Is(err, ErrRevoked) {
		t.Fatalf("child of a deleted parent: %v", err)
	}
}

func TestExecAllowList(t *testing.T) {
	allow := []string{"uname -n", "systemctl status *"}
	for argv, want := range map[string]bool{
		"uname -n":                 true,
		"uname -a":                 false,
		"uname -n extra":           false,
		"systemctl status":         true,
		"systemctl status nginx":   true,
		"systemctl stop nginx":     false,
		"rm -rf /":                 false,
		"uname -n; rm -rf /":       false,
		"systemctlstatus whatever": false,
	} {
		if got := AllowedCommand(allow, strings.Fields(argv)); got != want {
			t.Errorf("%q: %v, want %v", argv, got, want)
		}
	}
	g := Grant{Swiss: swiss(3), Target: ExecTarget, Actions: []string{"exec"}, Allow: allow}
	if err := Check(g, nil, Request{Target: ExecTarget, Action: "exec", Command: []string{"rm", "-rf", "/"}}, now); !errors.Is(err, ErrDenied) {
		t.Fatalf("rm allowed: %v", err)
	}
}

func TestAttenuate(t *testing.T) {
	parent := Grant{Swiss: swiss(1), Target: "web", Actions: []string{"start", "status"}, Expires: now.Add(time.Hour)}
	child, err := Attenuate(parent, Attenuation{Actions: []string{"status"}, Expires: now.Add(time.Minute), Holder: &Holder{UID: uid(5)}}, swiss(2), now)
	if err != nil || len(child.Actions) != 1 || !child.Expires.Equal(now.Add(time.Minute)) || *child.Parent != parent.Swiss || *child.Holder.UID != 5 {
		t.Fatalf("narrowing: %+v %v", child, err)
	}
	for name, a := range map[string]Attenuation{
		"more actions": {Actions: []string{"status", "stop"}},
		"later expiry": {Expires: now.Add(2 * time.Hour)},
		"allow on web": {Allow: []string{"true"}},
	} {
		if _, err := Attenuate(parent, a, swiss(3), now); err == nil {
			t.Errorf("%s: widening accepted", name)
		}
	}
	// The holder may delegate: the child is bound to someone else, and
	// only that someone may use it.
	delegated, err := Attenuate(child, Attenuation{Holder: &Holder{UID: uid(6)}}, swiss(4), now)
	if err != nil {
		t.Fatal(err)
	}
	store := map[Swiss]Grant{parent.Swiss: parent, child.Swiss: child}
	lookup := func(s Swiss) (Grant, bool) { g, ok := store[s]; return g, ok }
	if err := Check(delegated, lookup, Request{Target: "web", Action: "status", Holder: Holder{UID: uid(6)}}, now); err != nil {
		t.Errorf("delegated capability refused to its holder: %v", err)
	}
	if err := Check(delegated, lookup, Request{Target: "web", Action: "status", Holder: Holder{UID: uid(5)}}, now); !errors.Is(err, ErrDenied) {
		t.Errorf("delegated capability used by the delegator: %v", err)
	}
	execParent := Grant{Swiss: swiss(5), Target: ExecTarget, Actions: []string{"exec"}, Allow: []string{"systemctl status *", "uptime"}}
	if _, err := Attenuate(execParent, Attenuation{Allow: []string{"systemctl status nginx *", "uptime"}}, swiss(6), now); err != nil {
		t.Errorf("narrower exec: %v", err)
	}
	if _, err := Attenuate(execParent, Attenuation{Allow: []string{"systemctl *"}}, swiss(7), now); !errors.Is(err, ErrWidens) {
		t.Errorf("wider exec accepted: %v", err)
	}
}

func FuzzParseSturdyref(f *testing.F) {
	f.Add("ocapn://12D3KooWAbc.libp2p/s/" + swiss(9).String() + "?addr=/ip4/127.0.0.1/tcp/1")
	f.Add("ocapn://x.libp2p/s/")
	f.Add("ocapn://.libp2p/s/?addr=")
	f.Fuzz(func(t *testing.T, text string) {
		r, err := ParseSturdyref(text)
		if err != nil {
			return
		}
		again, err := ParseSturdyref(r.String())
		if err != nil || again.Peer != r.Peer || !again.Swiss.Equal(r.Swiss) || len(again.Addrs) != len(r.Addrs) {
			t.Fatalf("%q parsed, but its formatting %q does not parse back: %v", text, r.String(), err)
		}
	})
}

// FuzzAttenuationNeverWidens: whatever chain of attenuations a holder
// makes, a request the root refuses is refused through the chain.
func FuzzAttenuationNeverWidens(f *testing.F) {
	f.Add(uint8(3), uint8(1), int64(30), "stop")
	f.Add(uint8(7), uint8(6), int64(-5), "status")
	f.Fuzz(func(t *testing.T, rootMask, childMask uint8, minutes int64, action string) {
		all := []string{"start", "stop", "status"}
		pick := func(mask uint8) []string {
			var out []string
			for i, a := range all {
				if mask&(1<<i) != 0 {
					out = append(out, a)
				}
			}
			return out
		}
		root := Grant{Swiss: swiss(1), Target: "web", Actions: pick(rootMask), Expires: now.Add(time.Hour)}
		child, err := Attenuate(root, Attenuation{Actions: pick(childMask), Expires: now.Add(time.Duration(minutes) * time.Minute)}, swiss(2), now)
		if err != nil {
			return
		}
		lookup := func(s Swiss) (Grant, bool) { return root, s == root.Swiss }
		req := Request{Target: "web", Action: action}
		for _, at := range []time.Time{now, now.Add(59 * time.Minute), now.Add(61 * time.Minute)} {
			if Check(child, lookup, req, at) == nil && Check(root, lookup, req, at) != nil {
				t.Fatalf("the child allows %q at %v that its root refuses", action, at)
			}
		}
	})
}

func TestArgPatterns(t *testing.T) {
	root := Grant{Swiss: swiss(1), Target: "web", Actions: []string{"showconf", "hup", "status"},
		Args: map[string][]string{"showconf": {`[a-z]+\.conf`}, "hup": {}}}
	child, err := Attenuate(root, Attenuation{Args: map[string][]string{"showconf": {`web\.conf`}}}, swiss(2), now)
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(s Swiss) (Grant, bool) { return root, s == root.Swiss }
	for _, tc := range []struct {
		name   string
		g      Grant
		action string
		args   []string
		ok     bool
	}{
		{"declared pattern", root, "showconf", []string{"api.conf"}, true},
		{"no argument", root, "showconf", nil, true},
		{"the whole argument must match", root, "showconf", []string{"/etc/shadow#api.conf"}, false},
		{"a path", root, "showconf", []string{"../../etc/shadow"}, false},
		{"more arguments than patterns", root, "showconf", []string{"a.conf", "b.conf"}, false},
		{"an action restricted to no arguments", root, "hup", []string{"1"}, false},
		{"an action the grant does not restrict", root, "status", []string{"-n", "5"}, true},
		{"the child narrows", child, "showconf", []string{"api.conf"}, false},
		{"the child allows within", child, "showconf", []string{"web.conf"}, true},
		{"the parent's pattern still holds", child, "hup", []string{"1"}, false},
	} {
		err := Check(tc.g, lookup, Request{Target: "web", Action: tc.action, Args: tc.args}, now)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := Attenuate(root, Attenuation{Args: map[string][]string{"stop": {"x"}}}, swiss(3), now); err == nil {
		t.Error("a pattern for an action the capability lacks was accepted")
	}
	if _, err := Attenuate(root, Attenuation{Args: map[string][]string{"showconf": {"("}}}, swiss(3), now); err == nil {
		t.Error("a pattern that does not compile was accepted")
	}
}

func TestRedact(t *testing.T) {
	r := Sturdyref{Peer: "12D3KooWAbc", Swiss: swiss(7), Addrs: []string{"/unix/run/s"}}
	for _, text := range []string{r.Redacted(), RedactText("remote " + r.String() + " failed"), RedactText(r.String())} {
		if strings.Contains(text, swiss(7).String()) || !strings.Contains(text, "/s/"+Redacted) || !strings.Contains(text, "12D3KooWAbc") {
			t.Errorf("redacted: %s", text)
		}
	}
	if _, err := ParseSturdyref(r.Redacted()); err == nil {
		t.Error("a redacted sturdyref parses")
	}
	_, err := ParseSturdyref("ocapn://12D3KooWAbc.libp2p/s/" + swiss(7).String()[:40] + "?addr=x")
	if err == nil || strings.Contains(err.Error(), swiss(7).String()[:40]) {
		t.Errorf("a parse error quotes the swiss number: %v", err)
	}
}

// log is a right of its own; status holds it too (it did before).
func TestLogRight(t *testing.T) {
	now := time.Now()
	lookup := func(Swiss) (Grant, bool) { return Grant{}, false }
	for _, c := range []struct {
		actions []string
		action  string
		ok      bool
	}{
		{[]string{"log"}, "log", true},
		{[]string{"status"}, "log", true},
		{[]string{"start", "stop"}, "log", false},
		{[]string{"log"}, "status", false},
	} {
		g := Grant{Target: "web", Actions: c.actions}
		err := Check(g, lookup, Request{Target: "web", Action: c.action}, now)
		if (err == nil) != c.ok {
			t.Errorf("%v holds %s: %v", c.actions, c.action, err)
		}
	}
	parent := Grant{Target: "web", Actions: []string{"status", "start"}}
	if _, err := Attenuate(parent, Attenuation{Actions: []string{"log"}}, Swiss{}, now); err != nil {
		t.Errorf("log from status: %v", err)
	}
	if _, err := Attenuate(Grant{Target: "web", Actions: []string{"log"}}, Attenuation{Actions: []string{"status"}}, Swiss{}, now); err == nil {
		t.Error("status from log: allowed")
	}
}
