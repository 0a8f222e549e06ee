package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/services"
)

func u32(v uint32) *uint32 { return &v }

func TestListenKeys(t *testing.T) {
	specs, errs := Parse("l.yaml", []byte(`services:
  - name: web
    command: [srv]
    listen:
      - tcp: 127.0.0.1:8080
        name: http
        backlog: 16
      - tcp: "[::1]:8080"
      - unix: /run/web.sock
        mode: "0660"
        owner: herdsman
        group: wool
    start: on-connection
    environment-file: [/etc/web.env, -/etc/web.local.env]
  - name: echo
    command: [cat]
    listen: [{unix: /run/echo.sock}]
    socket-activation: inetd
    max-connections: 5
  - name: plain
    command: [x]
    listen: [{tcp: 0.0.0.0:80}]
    environment-file: -/etc/plain.env
`), testAccounts)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	web, echo, plain := specs[0], specs[1], specs[2]
	wantListen := []services.Endpoint{
		{TCP: "127.0.0.1:8080", Name: "http", Backlog: 16},
		{TCP: "[::1]:8080", Name: "web", Backlog: services.DefaultBacklog},
		{Unix: "/run/web.sock", Name: "web", Backlog: services.DefaultBacklog, Mode: 0o660, Owner: u32(4101), Group: u32(4300)},
	}
	if !reflect.DeepEqual(web.Listen, wantListen) {
		t.Errorf("listen %+v", web.Listen)
	}
	if web.Activation != (services.Activation{Style: services.ActivationSystemd, OnConnection: true}) {
		t.Errorf("activation %+v", web.Activation)
	}
	if want := []services.EnvironmentFile{{Path: "/etc/web.env"}, {Path: "/etc/web.local.env", Optional: true}}; !slices.Equal(web.EnvironmentFiles, want) {
		t.Errorf("environment files %+v", web.EnvironmentFiles)
	}
	if echo.Activation != (services.Activation{Style: services.ActivationInetd, MaxConnections: 5}) || echo.Listen[0].Mode != 0o666 {
		t.Errorf("echo %+v %+v", echo.Activation, echo.Listen)
	}
	if plain.Activation != (services.Activation{Style: services.ActivationSystemd}) {
		t.Errorf("plain %+v", plain.Activation)
	}
	if want := []services.EnvironmentFile{{Path: "/etc/plain.env", Optional: true}}; !slices.Equal(plain.EnvironmentFiles, want) {
		t.Errorf("plain environment files %+v", plain.EnvironmentFiles)
	}

	// Inetd gets the default bound on connections.
	specs, errs = Parse("l.yaml", []byte("services:\n  - name: e\n    command: [cat]\n    listen: [{tcp: 127.0.0.1:7}]\n    socket-activation: inetd\n"), testAccounts)
	if len(errs) > 0 || specs[0].Activation.MaxConnections != services.DefaultMaxConnections {
		t.Fatalf("%v %+v", errs, specs)
	}
}

func TestListenErrors(t *testing.T) {
	_, errs := Parse("bad.yaml", []byte(`services:
  - name: a
    command: [x]
    listen:
      - tcp: localhost:80
      - tcp: 127.0.0.1:0
      - tcp: 127.0.0.1:99999
      - unix: relative.sock
      - unix: /a/very/long/path/that/goes/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/x.sock
      - {tcp: 127.0.0.1:81, mode: "0600"}
      - {tcp: 127.0.0.1:82, unix: /run/x.sock}
      - {name: "a:b", tcp: 127.0.0.1:83}
      - {unix: /run/y.sock, mode: "999", owner: nobody-here, group: nogroup-here}
      - {tcp: 127.0.0.1:84, backlog: 0, color: red}
      - just-a-string
    socket-activation: xinetd
    start: lazily
  - name: b
    command: [x]
    listen: [{tcp: 127.0.0.1:85}]
    socket-activation: inetd
    start: on-connection
    max-connections: 0
  - name: c
    socket-activation: inetd
    start: on-connection
    max-connections: 3
  - name: d
    listen: [{tcp: 127.0.0.1:86}]
  - name: e
    command: [x]
    instances: 2
    listen: [{tcp: 127.0.0.1:87}]
  - name: f
    command: [x]
    listen: [{tcp: 127.0.0.1:88}]
    max-connections: 3
  - name: g
    command: [x]
    listen: {tcp: 127.0.0.1:89}
    environment-file: [relative.env, "-also/relative"]
  - name: "h:1"
    command: [x]
    listen: [{tcp: 127.0.0.1:90}]
`), testAccounts)
	want := []string{
		`bad.yaml:5:14: listen tcp: "localhost:80" is not HOST:PORT with HOST an IP address (examples: 127.0.0.1:8080, [::1]:8080, 0.0.0.0:80)`,
		`bad.yaml:6:14: listen tcp: "127.0.0.1:0": port 0 would be a port chosen at random; name one (1-65535)`,
		`bad.yaml:7:14: listen tcp: "127.0.0.1:99999" is not HOST:PORT with HOST an IP address (examples: 127.0.0.1:8080, [::1]:8080, 0.0.0.0:80)`,
		`bad.yaml:8:15: listen unix: "relative.sock" must be an absolute path`,
		`bad.yaml:9:15: listen unix: "/a/very/long/path/that/goes/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/x.sock" is 114 bytes long; a unix socket path has at most 107`,
		`bad.yaml:10:29: listen: mode is for unix sockets only`,
		`bad.yaml:11:9: listen: each endpoint needs exactly one of tcp: HOST:PORT or unix: PATH`,
		`bad.yaml:12:16: listen name: "a:b": only printable ASCII without spaces or ':' (it separates the names in LISTEN_FDNAMES)`,
		`bad.yaml:13:35: listen mode: "999" is not an octal mode such as "0660"`,
		`bad.yaml:13:49: listen owner: unknown user "nobody-here"`,
		`bad.yaml:13:69: listen group: unknown group "nogroup-here"`,
		`bad.yaml:14:38: listen backlog: must be 1 to 65535, got 0`,
		`bad.yaml:14:41: listen: unknown key "color" (expected tcp or unix, and name, backlog; mode, owner, group for unix)`,
		`bad.yaml:15:9: listen: expected {tcp: HOST:PORT} or {unix: PATH}, got "just-a-string"`,
		`bad.yaml:16:24: socket-activation: expected systemd (the sockets passed to one process, LISTEN_FDS) or inetd (one process per connection), got "xinetd"`,
		`bad.yaml:17:12: start: expected immediately or on-connection, got "lazily"`,
		`bad.yaml:22:12: start: on-connection is for socket-activation: systemd; an inetd-style service starts a process for each connection anyway`,
		`bad.yaml:23:22: max-connections: must be at least 1, got 0`,
		`bad.yaml:25:24: service c: socket-activation needs a listen list (the sockets to activate the service by)`,
		`bad.yaml:26:12: service c: start needs a listen list (the sockets to activate the service by)`,
		`bad.yaml:27:22: service c: max-connections needs a listen list (the sockets to activate the service by)`,
		`bad.yaml:29:13: service d: listen needs a command (the program the sockets are for)`,
		`bad.yaml:33:13: service e: listen is not for a service with instances, one-shot, pid-file or remote`,
		`bad.yaml:37:22: max-connections is for socket-activation: inetd`,
		`bad.yaml:40:13: listen: expected a list of endpoints such as [{tcp: 127.0.0.1:8080}, {unix: /run/app.sock}], got a mapping`,
		`bad.yaml:41:24: environment-file: "relative.env" must be an absolute path (with "-" before it for a file that may be missing)`,
		`bad.yaml:41:38: environment-file: "-also/relative" must be an absolute path (with "-" before it for a file that may be missing)`,
		`bad.yaml:44:14: listen: the service's name cannot name its socket in LISTEN_FDNAMES ("h:1": only printable ASCII without spaces or ':' (it separates the names in LISTEN_FDNAMES)); give the endpoint a name`,
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

func TestListenAcrossServices(t *testing.T) {
	specs, errs := Parse("s.yaml", []byte(`services:
  - name: a
    command: [x]
    listen: [{tcp: 127.0.0.1:80}, {unix: /run/a.sock}, {unix: /run/a.sock}]
  - name: b
    command: [x]
    listen: [{tcp: "[::ffff:127.0.0.1]:80"}]
  - name: c
    command: [x]
    listen: [{unix: /run/a.sock}, {tcp: 127.0.0.1:81}]
`), testAccounts)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var got []string
	for _, e := range services.Validate(specs) {
		got = append(got, e.Error())
	}
	want := []string{
		`s.yaml:2:5: service a: listen unix /run/a.sock is listed twice`,
		`s.yaml:5:5: service b: listen tcp [::ffff:127.0.0.1]:80: service a listens there already`,
		`s.yaml:8:5: service c: listen unix /run/a.sock: service a listens there already`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
