package systemd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/importer/importertest"
)

type unitCase struct {
	name     string
	units    []Unit
	want     string
	warnings []string
}

func unitOf(name, text string) Unit {
	return Unit{Name: name, File: File{Path: name, Data: []byte(text)}}
}

func runCases(t *testing.T, cases []unitCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Import(tc.units)
			got := importertest.Services(t, r)
			if got != tc.want {
				t.Errorf("services:\n%s\nwant:\n%s", got, tc.want)
			}
			importertest.CheckWarnings(t, r, tc.warnings)
			out, _ := r.YAML()
			importertest.Load(t, tc.name, out)
		})
	}
}

func TestSyntax(t *testing.T) {
	runCases(t, []unitCase{{
		name: "continuation, comments, blanks around =",
		units: []Unit{unitOf("a.service", `# a comment
; another
[Unit]
Description = A service \
  on two lines (the backslash becomes a space)

[Service]
ExecStart=/bin/sleep \
# a comment inside the continuation is skipped
    3600
[Install]
WantedBy=multi-user.target
`)},
		want: `services:
  - name: a
    documentation: A service  on two lines (the backslash becomes a space)
    command: [/bin/sleep, "3600"]
    respawn: false
`,
	}, {
		name: "quoting and escapes in a command",
		units: []Unit{unitOf("q.service", `[Service]
ExecStart=/bin/echo "two words" 'single "inner"' a\sb tab\there x"y z"w \x41 \101 \u00e9
`)},
		want: `services:
  - name: q
    command: [/bin/echo, two words, single "inner", a b, "tab\there", xy zw, A, A, é]
    respawn: false
    auto-start: false
`,
	}, {
		name: "an empty assignment resets a list",
		units: []Unit{unitOf("r.service", `[Service]
ExecStart=/bin/sleep 3600
Environment=A=1
Environment=
Environment=B=2 "C=three words"
EnvironmentFile=/etc/one
EnvironmentFile=
`)},
		want: `services:
  - name: r
    command: [/bin/sleep, "3600"]
    environment:
      B: "2"
      C: three words
    respawn: false
    auto-start: false
`,
	}, {
		name: "lines that are not assignments",
		units: []Unit{unitOf("bad.service", `Orphan=1
[Service]
just words
[broken
ExecStart=/bin/true "unclosed
ExecStart=/bin/sleep 1
[X-Custom]
Key=v
[Service]
X-Vendor=1
`)},
		want: `services:
  - name: bad
    command: [/bin/sleep, "1"]
    respawn: false
    auto-start: false
`,
		warnings: []string{
			"bad.service:1 Orphan: an assignment before the first [Section]",
			"bad.service:3 just words: not a Key=Value assignment",
			"bad.service:4 [broken: not a section header",
			"bad.service:5 ExecStart: unterminated \" quote: not carried over",
			"bad.service:8 Key: an extension for other programs",
			"bad.service:10 X-Vendor: an extension for other programs",
		},
	}})
}

func TestSpecifiers(t *testing.T) {
	tmpl := `[Unit]
Description=Worker %i of %p (%n, %N, %I, %j, %f, 100%%)
[Service]
ExecStart=/usr/bin/worker --state %S/%p/%i --run %t/%p --host %H
PIDFile=%t/%p-%i.pid
`
	runCases(t, []unitCase{{
		name:  "instance from the name",
		units: []Unit{unitOf("work-er@a\\x2db.service", tmpl)},
		want: `services:
  - name: work-er@a\x2db
    documentation: Worker a\x2db of work-er (work-er@a\x2db.service, work-er@a\x2db, a-b, er, /a-b, 100%)
    command: [/usr/bin/worker, --state, /var/lib/work-er/a\x2db, --run, /run/work-er, --host, '%H']
    respawn: false
    auto-start: false
`,
		warnings: []string{
			`work-er@a\x2db.service:4 ExecStart: %H (host name) depends on the machine`,
			`work-er@a\x2db.service:5 PIDFile: systemd reads the PID file of Type=forking services only`,
		},
	}, {
		name:  "template without an instance",
		units: []Unit{unitOf("w@.service", "[Service]\nExecStart=/bin/sleep %i\n")},
		want: `services:
  - name: w@
    command: [/bin/sleep, '%i']
    respawn: false
    auto-start: false
`,
		warnings: []string{"w@.service:2 ExecStart: %i is the instance of a template unit, and w@.service has none"},
	}, {
		name:  "DefaultInstance",
		units: []Unit{unitOf("w@.service", "[Service]\nExecStart=/bin/sleep %i\n[Install]\nDefaultInstance=60\nWantedBy=multi-user.target\n")},
		want: `services:
  - name: w@60
    command: [/bin/sleep, "60"]
    respawn: false
`,
	}})
}

func TestCommands(t *testing.T) {
	runCases(t, []unitCase{{
		name: "prefixes",
		units: []Unit{unitOf("p.service", `[Service]
ExecStart=-+@/bin/sleep sleeper 3600
`)},
		want: `services:
  - name: p
    command: [/bin/sleep, "3600"]
    respawn: false
    auto-start: false
`,
		warnings: []string{
			`p.service:2 ExecStart: @ runs /bin/sleep with argv[0] "sleeper"`,
			`p.service:2 ExecStart: + runs the command with full privileges`,
			`p.service:2 ExecStart: - (a failing exit counts as a success) is not carried over`,
		},
	}, {
		name: "variables known at import are expanded",
		units: []Unit{unitOf("v.service", `[Service]
Environment="OPTS=-a -b" DIR=/srv
ExecStart=/bin/prog $OPTS ${DIR}/x $$HOME :${DIR}
`)},
		want: `services:
  - name: v
    command: [/bin/prog, -a, -b, /srv/x, $HOME, ':/srv']
    environment:
      OPTS: -a -b
      DIR: /srv
    respawn: false
    auto-start: false
`,
	}, {
		name: "variables of an environment file: sh expands them when it runs",
		units: []Unit{unitOf("e.service", `[Service]
EnvironmentFile=-/etc/default/e
ExecStart=/bin/prog $OPTS "${DIR}/a b" 'it''s'
`)},
		want: `services:
  - name: e
    command: [/bin/sh, -c, 'set -f; exec /bin/prog $OPTS "${DIR}"''/a b'' its']
    environment-file: -/etc/default/e
    respawn: false
    auto-start: false
`,
	}, {
		name: ": turns variables off",
		units: []Unit{unitOf("n.service", `[Service]
EnvironmentFile=-/etc/default/n
ExecStart=:/bin/echo $OPTS
`)},
		want: `services:
  - name: n
    command: [/bin/echo, $OPTS]
    environment-file: -/etc/default/n
    respawn: false
    auto-start: false
`,
	}, {
		name: "oneshot with several commands",
		units: []Unit{unitOf("o.service", `[Service]
Type=oneshot
ExecStartPre=-/bin/false
ExecStart=/bin/mkdir -p /run/o
ExecStart=-/bin/chmod 700 /run/o
RemainAfterExit=yes
Restart=on-failure
`)},
		want: `services:
  - name: o
    command: [/bin/sh, -c, /bin/false; /bin/mkdir -p /run/o || exit; /bin/chmod 700 /run/o; exit 0]
    one-shot: true
    auto-start: false
`,
		warnings: []string{
			"o.service:3 ExecStartPre: run by the service's command, before it",
			"o.service:6 RemainAfterExit: a one-shot that succeeded is done",
			"o.service:7 Restart: a one-shot service or a milestone is never respawned",
		},
	}, {
		name: "ExecReload with $MAINPID, ExecStop that signals",
		units: []Unit{unitOf("k.service", `[Service]
ExecStart=/bin/sleep 3600
ExecReload=/bin/kill -HUP ${MAINPID}
ExecStop=/bin/kill -s INT $MAINPID
TimeoutStopSec=1min 30s
Restart=always
RestartSec=2
StartLimitBurst=3
StartLimitIntervalSec=20s
`)},
		want: `services:
  - name: k
    command: [/bin/sleep, "3600"]
    respawn: true
    respawn-limit: {count: 3, seconds: 20}
    respawn-delay: 2s
    stop-signal: SIGINT
    stop-timeout: 90s
    auto-start: false
    actions:
      reload:
        command: [/bin/kill, -HUP, $MAINPID]
        documentation: Reload the service's configuration (ExecReload=).
`,
		warnings: []string{"k.service:4 ExecStop: carried over as stop-signal: SIGINT;"},
	}, {
		name: "a stop command and two simple ExecStart",
		units: []Unit{unitOf("s.service", `[Service]
ExecStart=/bin/sleep 1
ExecStart=/bin/sleep 2
ExecStop=/usr/bin/myctl stop
KillSignal=SIGUSR1
KillMode=process
`)},
		want: `services:
  - name: s
    command: [/bin/sleep, "1"]
    respawn: false
    stop-signal: SIGUSR1
    auto-start: false
`,
		warnings: []string{
			"s.service:3 ExecStart: only Type=oneshot services may have more than one ExecStart=",
			"s.service:4 ExecStop: a stop command is not supported",
			"s.service:6 KillMode: shepherd signals the whole process group",
		},
	}})
}

func TestServiceKeys(t *testing.T) {
	runCases(t, []unitCase{{
		name: "credentials, process attributes, limits, logs",
		units: []Unit{unitOf("x.service", `[Service]
ExecStart=/bin/sleep 3600
User=nobody
Group=nogroup
SupplementaryGroups=adm
SupplementaryGroups=staff
WorkingDirectory=-/srv/x
UMask=27
Nice=5
IOSchedulingClass=idle
IOSchedulingPriority=7
LimitNOFILE=1024:4096
LimitCORE=infinity
LimitAS=64M
LimitCPU=2min
LimitNICE=-5
LimitRTTIME=1
StandardOutput=append:/var/log/x.log
StandardError=file:/var/log/x.err
Type=forking
PIDFile=/run/x.pid
TimeoutStartSec=30
`)},
		want: `services:
  - name: x
    command: [/bin/sleep, "3600"]
    directory: /srv/x
    user: nobody
    group: nogroup
    supplementary-groups: [adm, staff]
    umask: "0027"
    limits:
      nofile: {soft: 1024, hard: 4096}
      core: unlimited
      as: 67108864
      cpu: 120
      nice: 25
    nice: 5
    io-class: idle
    io-priority: 7
    log-file: /var/log/x.log
    pid-file: /run/x.pid
    pid-file-timeout: 30s
    respawn: false
    auto-start: false
`,
		warnings: []string{
			"x.service:7 WorkingDirectory: - (carry on if the directory is missing) is not supported",
			"x.service:17 LimitRTTIME: not supported",
			"x.service:19 StandardError: both streams go to one log file",
		},
	}, {
		name: "notify, sandboxing, directories, conditions, unknown",
		units: []Unit{unitOf("n.service", `[Unit]
ConditionPathExists=/etc/n
[Service]
Type=notify
ExecStart=/usr/bin/n
ProtectSystem=strict
StateDirectory=n
CPUQuota=20%
Frobnicate=yes
`)},
		want: `services:
  - name: n
    command: [/usr/bin/n]
    ready: notify
    respawn: false
    auto-start: false
`,
		warnings: []string{
			"n.service:2 ConditionPathExists: shepherd checks no start conditions",
			"n.service:6 ProtectSystem: sandboxing is not supported",
			"n.service:7 StateDirectory: shepherd does not create the service's directories",
			"n.service:8 CPUQuota: resource control is not supported",
			"n.service:9 Frobnicate: Frobnicate= is not supported",
		},
	}, {
		name: "no ExecStart: a milestone",
		units: []Unit{unitOf("m.service", `[Service]
Type=simple
`)},
		want: `services:
  - name: m
    auto-start: false
`,
		warnings: []string{"m.service:1 ExecStart: the unit has no ExecStart="},
	}})
}

func TestDependencies(t *testing.T) {
	runCases(t, []unitCase{{
		name: "between imported units, targets as milestones",
		units: []Unit{
			unitOf("web.service", `[Unit]
Requires=db.service
After=db.service
Wants=app.target cache.service
BindsTo=db.service
Before=late.service
Requires=data.mount
[Service]
ExecStart=/bin/sleep 3600
[Install]
WantedBy=app.target
Alias=www.service httpd.socket
`),
			unitOf("db.service", "[Unit]\nAfter=network.target\n[Service]\nExecStart=/bin/sleep 3600\n[Install]\nWantedBy=multi-user.target\n"),
			unitOf("app.target", "[Unit]\nDescription=The application\nRequires=db.service\n[Install]\nWantedBy=multi-user.target\n"),
		},
		want: `services:
  - name: web
    provides: [www]
    requires: [db, app]
    command: [/bin/sleep, "3600"]
    respawn: false
  - name: db
    command: [/bin/sleep, "3600"]
    respawn: false
  - name: app
    requires: [db]
    documentation: The application
`,
		warnings: []string{
			"web.service:4 Wants: app: shepherd requires it",
			"web.service:4 Wants: cache: shepherd requires it",
			"web.service:4 Wants: requirement cache is not among the imported services",
			"web.service:5 BindsTo: db: carried over as requires",
			"web.service:6 Before: Before= is not supported",
			"web.service:7 Requires: data.mount: shepherd has no .mount units",
			"web.service:12 Alias: httpd.socket is not a service name",
			"db.service:2 After: network: an order without Requires=",
		},
	}, {
		name: "a cycle is broken where it closes",
		units: []Unit{
			unitOf("a.service", "[Unit]\nRequires=b.service\n[Service]\nExecStart=/bin/sleep 1\n"),
			unitOf("b.service", "[Unit]\nRequires=a.service\n[Service]\nExecStart=/bin/sleep 1\n"),
		},
		want: `services:
  - name: a
    requires: [b]
    command: [/bin/sleep, "1"]
    respawn: false
    auto-start: false
  - name: b
    command: [/bin/sleep, "1"]
    respawn: false
    auto-start: false
`,
		warnings: []string{"b.service:2 Requires: requirement a closes a dependency cycle (a -> b -> a)"},
	}})
}

func TestReadUnits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("w@.service", "[Service]\nExecStart=/bin/sleep %i\nUser=nobody\n")
	write("w@.service.d/10-user.conf", "[Service]\nUser=root\n")
	write("w@5.service.d/20-nice.conf", "[Service]\nNice=3\n")
	units, err := ReadUnits([]string{filepath.Join(dir, "w@5.service")})
	if err != nil {
		t.Fatal(err)
	}
	r := Import(units)
	want := `services:
  - name: w@5
    command: [/bin/sleep, "5"]
    user: root
    nice: 3
    respawn: false
    auto-start: false
`
	if got := importertest.Services(t, r); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if _, err := ReadUnits([]string{filepath.Join(dir, "none.service")}); err == nil {
		t.Error("a missing unit file: no error")
	}
	if _, err := ReadUnits([]string{dir}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}

func TestTimespan(t *testing.T) {
	for in, want := range map[string]string{"5": "5s", "5s": "5s", "1min 30s": "1m30s", "100ms": "100ms", "2h": "2h0m0s", "1.5s": "1.5s", "1d": "24h0m0s", "3 min": "3m0s"} {
		d, _, err := parseTimespan(in)
		if err != nil || d.String() != want {
			t.Errorf("parseTimespan(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, bad := range []string{"", "s", "5 parsecs", "1e400"} {
		if _, _, err := parseTimespan(bad); err == nil {
			t.Errorf("parseTimespan(%q): no error", bad)
		}
	}
}
