package config

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

func parseOne(t *testing.T, yaml string) (*services.Spec, services.ErrorList) {
	t.Helper()
	specs, errs := Parse("s.yaml", []byte(yaml), testAccounts)
	if len(specs) != 1 {
		return nil, errs
	}
	return specs[0], errs
}

func TestParseEveryKey(t *testing.T) {
	s, errs := parseOne(t, `
services:
  - name: web
    provides: [httpd, www]
    requires: [net]
    documentation: Serve.
    command: "/usr/bin/python3 -m 'http.server' 8080"
    environment: {A: "1", B: two}
    directory: /srv
    log-file: /var/log/web.log
    respawn: true
    respawn-limit: {count: 3, seconds: 10}
    respawn-delay: 250ms
    respawn-backoff: exponential
    respawn-max-delay: 1m
    respawn-cooldown: 5m
    stop-signal: INT
    stop-timeout: 2.5
    one-shot: false
    auto-start: false
    instances: 1
    actions:
      reload: {command: [kill, -HUP, "$MAINPID"], documentation: Re-read.}
      check: {command: "true"}
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := services.Spec{
		Name: "web", Provides: []string{"httpd", "www"}, Requires: []string{"net"}, Documentation: "Serve.",
		Command:     []string{"/usr/bin/python3", "-m", "http.server", "8080"},
		Environment: map[string]string{"A": "1", "B": "two"}, Directory: "/srv", LogFile: "/var/log/web.log",
		Respawn: true, RespawnLimit: services.RespawnLimit{Count: 3, Window: 10 * time.Second}, RespawnDelay: 250 * time.Millisecond,
		RespawnBackoff: true, RespawnMaxDelay: time.Minute, RespawnCooldown: 5 * time.Minute,
		StopSignal: syscall.SIGINT, StopTimeout: 2500 * time.Millisecond, AutoStart: false,
	}
	if s.Name != want.Name || !slices.Equal(s.Provides, want.Provides) || !slices.Equal(s.Command, want.Command) ||
		s.Environment["B"] != "two" || s.Directory != want.Directory || s.LogFile != want.LogFile ||
		s.RespawnLimit != want.RespawnLimit || s.RespawnDelay != want.RespawnDelay || !s.RespawnBackoff ||
		s.RespawnMaxDelay != want.RespawnMaxDelay || s.RespawnCooldown != want.RespawnCooldown ||
		s.StopSignal != want.StopSignal || s.StopTimeout != want.StopTimeout || s.AutoStart || !s.Respawn {
		t.Fatalf("got %+v", s)
	}
	if len(s.Actions) != 2 || s.Actions[0].Name != "reload" || s.Actions[1].Command[0] != "true" || s.Actions[0].Documentation != "Re-read." {
		t.Fatalf("actions %+v", s.Actions)
	}
}

func TestDefaults(t *testing.T) {
	specs, errs := Parse("s.yaml", []byte(`
services:
  - name: cmd
    command: [sleep, "1"]
  - name: once
    command: [true]
    one-shot: true
  - name: milestone
`), testAccounts)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cmd, once, ms := specs[0], specs[1], specs[2]
	if !cmd.Respawn || cmd.RespawnLimit != services.DefaultRespawnLimit || cmd.RespawnDelay != 100*time.Millisecond ||
		cmd.StopSignal != syscall.SIGTERM || cmd.StopTimeout != 5*time.Second || !cmd.AutoStart || cmd.RespawnMaxDelay != 30*time.Second {
		t.Errorf("command defaults: %+v", cmd)
	}
	if once.Respawn || ms.Respawn || !ms.Milestone() || cmd.Milestone() {
		t.Errorf("one-shot or milestone respawn: %+v %+v", once, ms)
	}
}

func TestRespawnLimitUnlimited(t *testing.T) {
	s, errs := parseOne(t, "services:\n  - name: a\n    command: [x]\n    respawn-limit: unlimited\n")
	if len(errs) > 0 || !s.RespawnLimit.Unlimited {
		t.Fatalf("%+v %v", s, errs)
	}
}

// TestErrorsAllAtOnce: every problem, each at its position.
func TestErrorsAllAtOnce(t *testing.T) {
	_, errs := Parse("bad.yaml", []byte(`services:
  - name: a
    command: [sh, "unterminated]
`), testAccounts)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "bad.yaml:3:") {
		t.Fatalf("yaml syntax error: %v", errs)
	}

	_, errs = Parse("bad.yaml", []byte(`services:
  - name: a
    stop-timeout: -5s
    respawn-delay: [1]
    stop-signal: 99
    respawn: maybe
    respawn-backoff: linear
    directory: relative/dir
    environment: {"A=B": x}
    one-shot: true
    command: 'echo "oops'
    instances: 0
    remote: http://x
    actions:
      start: {command: [x]}
      empty: {}
    name: again
  - command: [x]
  - name: -dash
  - name: root
  - just a string
`), testAccounts)
	want := []string{
		`bad.yaml:3:19: bad duration "-5s" for stop-timeout (examples: 100ms, 5s, 2m)`,
		`bad.yaml:4:20: respawn-delay: expected a duration, got a list`,
		`bad.yaml:5:18: bad signal "99"`,
		`bad.yaml:6:14: respawn: expected true, false or on-failure, got "maybe"`,
		`bad.yaml:7:22: respawn-backoff: expected 'exponential' or 'none', got "linear"`,
		`bad.yaml:8:16: directory: "relative/dir" must be an absolute path`,
		`bad.yaml:9:19: environment: bad variable name "A=B"`,
		`bad.yaml:11:14: command: unterminated " quote`,
		`bad.yaml:12:16: instances: must be at least 1, got 0`,
		`bad.yaml:13:13: remote: "http://x" is not a sturdyref (ocapn://...)`,
		`bad.yaml:15:7: action "start": the name is a built-in action`,
		`bad.yaml:16:14: action empty: needs a command`,
		`bad.yaml:17:5: duplicate key "name"`,
		`bad.yaml:18:5: service has no name`,
		`bad.yaml:19:5: service name "-dash": must not contain spaces or '/', nor start with '-'`,
		`bad.yaml:20:5: service name "root" is reserved for the daemon itself`,
		`bad.yaml:21:5: a service must be a mapping, got "just a string"`,
	}
	errs.Sort()
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing error %q", w)
		}
	}
	if t.Failed() {
		t.Logf("got:\n%s", strings.Join(got, "\n"))
	}
}

func TestValidateAcrossServices(t *testing.T) {
	specs, errs := Parse("s.yaml", []byte(`services:
  - name: a
    provides: [alpha]
    requires: [gamma, alpha2]
  - name: b
    provides: [alpha]
  - name: c
    provides: [gamma]
    requires: [a]
  - name: d
    requires: [d]
  - name: e
    requires: [nobody]
`), testAccounts)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, e := range services.Validate(specs) {
		got = append(got, e.Error())
	}
	want := []string{
		`s.yaml:2:5: service a requires unknown service "alpha2"`,
		`s.yaml:2:5: dependency cycle: a -> c -> a`,
		`s.yaml:5:5: service b: alias "alpha" is already the name or an alias of service a`,
		`s.yaml:10:5: service d requires itself`,
		`s.yaml:12:5: service e requires unknown service "nobody"`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Requirements named by alias become canonical names.
	if !slices.Equal(specs[0].Requires, []string{"c"}) {
		t.Fatalf("requires %v", specs[0].Requires)
	}
}

func TestLoadPathDirectoryInOrder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "20-web.yaml"), []byte("services:\n  - name: web\n    requires: [net]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "10-net.yml"), []byte("services:\n  - name: net\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not yaml: ["), 0o644)
	cfg, err := LoadPath(dir, testAccounts)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Services) != 2 || cfg.Services[0].Name != "net" || cfg.Services[1].Name != "web" {
		t.Fatalf("services %v", cfg.Services)
	}
	if _, err := LoadPath(filepath.Join(dir, "missing.yaml"), testAccounts); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestSplitWords(t *testing.T) {
	for in, want := range map[string][]string{
		`a b  c`:           {"a", "b", "c"},
		`sh -c 'echo "x"'`: {"sh", "-c", `echo "x"`},
		`"" x`:             {"", "x"},
	} {
		got, err := SplitWords(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
}

// FuzzParse: no input crashes the loader, every error has a position, and
// whatever parses also validates without crashing.
func FuzzParse(f *testing.F) {
	f.Add([]byte("services:\n  - name: a\n    command: [sleep, '1']\n    requires: [b]\n  - name: b\n"))
	f.Add([]byte("services:\n  - name: a\n    respawn-limit: {count: 1, seconds: 2}\n    actions: {x: {command: y}}\n"))
	f.Add([]byte("services: [1, [2], {name: [x]}]\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, errs := Parse("f.yaml", data, testAccounts)
		for _, e := range append(errs, services.Validate(specs)...) {
			if e.Pos.Line < 1 || e.Pos.File != "f.yaml" {
				t.Fatalf("error without a position: %v", e)
			}
		}
	})
}

func TestHistoryRetention(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte("history-retention: 7d\nservices:\n  - name: a\n"), 0o644)
	cfg, err := LoadPath(path, testAccounts)
	if err != nil || cfg.HistoryRetention != 7*24*time.Hour {
		t.Fatalf("%v %v", cfg, err)
	}
	os.WriteFile(path, []byte("history-retention: forever\nservices: []\n"), 0o644)
	if _, err := LoadPath(path, testAccounts); err == nil || !strings.Contains(err.Error(), `s.yaml:1:20: bad duration "forever" for history-retention`) {
		t.Fatalf("bad retention: %v", err)
	}
}

func TestHooks(t *testing.T) {
	s, errs := parseOne(t, `services:
  - name: a
    command: [x]
    on-exit: [notify, exit]
    on-failure: {url: "http://127.0.0.1:9/hook", timeout: 2s}
    on-respawn-limit: "page someone"
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if h := s.Hooks["on-exit"]; !slices.Equal(h.Command, []string{"notify", "exit"}) || h.Timeout != 10*time.Second {
		t.Errorf("on-exit %+v", h)
	}
	if h := s.Hooks["on-failure"]; h.URL != "http://127.0.0.1:9/hook" || h.Timeout != 2*time.Second {
		t.Errorf("on-failure %+v", h)
	}
	if h := s.Hooks["on-respawn-limit"]; !slices.Equal(h.Command, []string{"page", "someone"}) {
		t.Errorf("on-respawn-limit %+v", h)
	}
	_, errs = Parse("h.yaml", []byte(`services:
  - name: a
    on-exit: {command: [x], url: "http://x"}
    on-failure: {url: "ftp://x"}
    on-respawn-limit: {timeout: 1s, colour: red}
`), testAccounts)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	for _, want := range []string{
		"h.yaml:3:14: on-exit: needs either a command or a url",
		`h.yaml:4:23: on-failure url: "ftp://x" must start with http:// or https://`,
		`h.yaml:5:37: on-respawn-limit: unknown key "colour" (expected command or url, and timeout)`,
		"h.yaml:5:23: on-respawn-limit: needs either a command or a url",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
}

func TestProcessAttributes(t *testing.T) {
	s, errs := parseOne(t, `services:
  - name: a
    command: [x]
    user: herdsman
    group: "4201"
    supplementary-groups: [wool, flock]
    umask: "0027"
    limits: {nofile: 4096, core: unlimited, stack: {soft: 1024, hard: 2048}}
    nice: -5
    io-priority: 3
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := services.Credentials{User: testAccounts.users[0], GID: 4201, Groups: []uint32{4300, 4200}}
	if c := s.Credentials; c == nil || c.User != want.User || c.GID != want.GID || !slices.Equal(c.Groups, want.Groups) {
		t.Errorf("credentials %+v, want %+v", s.Credentials, want)
	}
	if *s.Umask != 0o027 || *s.Nice != -5 || s.IOClass != 2 || s.IOPriority != 3 || !s.NeedsTrampoline() {
		t.Errorf("attributes %+v", s)
	}
	if len(s.Limits) != 3 || s.Limits[0].Name != "nofile" || s.Limits[0].Soft != 4096 || s.Limits[1].Hard != ^uint64(0) || s.Limits[2].Soft != 1024 || s.Limits[2].Hard != 2048 {
		t.Errorf("limits %+v", s.Limits)
	}
	_, errs = Parse("p.yaml", []byte(`services:
  - name: a
    user: no-such-user-here
    supplementary-groups: [no-such-group-here]
    umask: "0999"
    limits: {nofiles: 1, core: -1, stack: {soft: 2, hard: 1}}
    nice: 40
    io-class: fast
`), testAccounts)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	for _, want := range []string{
		`p.yaml:3:11: user: unknown user "no-such-user-here"`,
		`p.yaml:4:28: supplementary-groups: unknown group "no-such-group-here"`,
		`p.yaml:5:12: umask: "0999" is not an octal mode such as "0022"`,
		`p.yaml:6:14: limits: unknown resource "nofiles"`,
		`p.yaml:6:32: limits: core: expected a non-negative number, got "-1"`,
		`p.yaml:6:43: limits: stack: soft limit above the hard one`,
		`p.yaml:7:11: nice: 40 is outside -20..19`,
		`p.yaml:8:15: io-class: expected realtime, best-effort or idle, got "fast"`,
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
}

func TestLogRotate(t *testing.T) {
	s, errs := parseOne(t, "services:\n  - name: a\n    command: [x]\n    log-rotate: {size: 10MB, keep: 2}\n")
	if len(errs) > 0 || s.LogRotate != (services.LogRotate{Size: 10 << 20, Keep: 2}) {
		t.Fatalf("%+v %v", s.LogRotate, errs)
	}
	s, _ = parseOne(t, "services:\n  - name: a\n    log-rotate: {size: 4096}\n")
	if s.LogRotate != (services.LogRotate{Size: 4096, Keep: 5}) {
		t.Fatalf("default keep: %+v", s.LogRotate)
	}
	_, errs = Parse("r.yaml", []byte("services:\n  - name: a\n    log-rotate: {size: big, keep: 0}\n"), testAccounts)
	if len(errs) != 2 || errs[0].Error() != `r.yaml:3:24: log-rotate size: "big" is not a size such as 10MB` || errs[1].Error() != "r.yaml:3:35: log-rotate keep: must be at least 1" {
		t.Fatalf("%v", errs)
	}
}

func TestInstances(t *testing.T) {
	s, errs := parseOne(t, "services:\n  - name: w\n    provides: [worker]\n    command: [x]\n    instances: 3\n    log-file: /var/log/w.log\n")
	if len(errs) > 0 || s.Instances != 3 {
		t.Fatalf("%+v %v", s, errs)
	}
	i := s.Instance(2)
	if i.Name != "w.2" || i.Instances != 0 || len(i.Provides) != 0 || i.LogFile != "/var/log/w.log.2" || i.Command[0] != "x" {
		t.Fatalf("instance %+v", i)
	}
	_, errs = Parse("i.yaml", []byte("services:\n  - name: m\n    instances: 2\n"), testAccounts)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "instances need a command") {
		t.Fatalf("%v", errs)
	}
}

// recordingAccounts notes every name the loader asks about.
type recordingAccounts struct {
	Accounts
	asked *[]string
}

func (r recordingAccounts) LookupUser(s string) (services.Account, error) {
	*r.asked = append(*r.asked, "user "+s)
	return r.Accounts.LookupUser(s)
}

func (r recordingAccounts) LookupGroup(s string) (uint32, error) {
	*r.asked = append(*r.asked, "group "+s)
	return r.Accounts.LookupGroup(s)
}

// TestAccountsAreTheCallers: the loader resolves names with the accounts
// it is given and nothing else; with none, every name is an error at its
// position.
func TestAccountsAreTheCallers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(path, []byte(`services:
  - name: a
    command: [x]
    user: "4102"
    supplementary-groups: [pasture]
  - name: b
    command: [x]
    group: wool
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var asked []string
	cfg, err := LoadPath(path, recordingAccounts{testAccounts, &asked})
	if err != nil {
		t.Fatal(err)
	}
	self := "user " + strconv.Itoa(os.Getuid())
	if want := []string{"user 4102", "group pasture", self, "group wool"}; !slices.Equal(asked, want) {
		t.Errorf("asked %q, want %q", asked, want)
	}
	a, b := cfg.Services[0].Credentials, cfg.Services[1].Credentials
	if a.User.Name != "shearer" || a.User.Home != "/home/shearer" || a.GID != 4201 || !slices.Equal(a.Groups, []uint32{4201}) {
		t.Errorf("a runs as %+v", a)
	}
	// A group without a user keeps the daemon's user, unknown to the fake.
	if b.User.UID != uint32(os.Getuid()) || b.GID != 4300 {
		t.Errorf("b runs as %+v", b)
	}

	_, errs, err := ParsePath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`s.yaml:4:11: user: cannot look up user "4102" here`,
		`s.yaml:5:28: supplementary-groups: cannot look up group "pasture" here`,
		`s.yaml:8:12: group: cannot look up group "wool" here`,
	}
	for i := range got {
		got[i] = strings.TrimPrefix(got[i], filepath.Dir(path)+"/")
	}
	if !slices.Equal(got, want) {
		t.Errorf("without accounts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
