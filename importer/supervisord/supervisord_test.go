package supervisord

import (
	"testing"

	"github.com/shepherd-go/shepherd/importer/importertest"
)

func TestImport(t *testing.T) {
	env := map[string]string{"LOGLEVEL": "debug"}
	opt := Options{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Hostname: "box"}
	for _, tc := range []struct {
		name, src, want string
		warnings        []string
	}{{
		name: "syntax: comments, continuation, colon, case",
		src: `; a comment
# another
[program:web]
COMMAND: /usr/bin/python3 -m http.server
  8080 ;port on a continuation line
autorestart = false ; inline comment
directory=/srv;not a comment
`,
		want: `services:
  - name: web
    command: [/usr/bin/python3, -m, http.server, "8080"]
    directory: /srv;not a comment
    respawn: false
`,
		warnings: nil,
	}, {
		name: "expansions and shell-like splitting",
		src: `[program:app]
command=/usr/bin/app --level=%(ENV_LOGLEVEL)s --name "%(program_name)s on %(host_node_name)s" --conf %(here)s/app.conf 'a b' c\ d "e\"f\g" 100%%
process_name=app-%(process_num)02d
`,
		want: `services:
  - name: app
    provides: [app-00]
    command: [/usr/bin/app, --level=debug, --name, app on box, --conf, ./app.conf, a b, c d, e"f\g, 100%]
`,
		warnings: []string{
			"test.conf:2 command: %(ENV_LOGLEVEL)s is taken from the environment of herd import (LOGLEVEL=debug)",
			"test.conf:2 command: %(host_node_name)s is this machine's name, box",
		},
	}, {
		name: "numprocs without process_num elsewhere: instances",
		src: `[program:worker]
command=/usr/bin/worker
process_name=%(program_name)s_%(process_num)02d
numprocs=3
`,
		want: `services:
  - name: worker
    command: [/usr/bin/worker]
    instances: 3
`,
		warnings: []string{"test.conf:4 numprocs: carried over as instances: 3; they are named worker.1 .. worker.3"},
	}, {
		name: "numprocs with process_num in the command: one service each",
		src: `[program:web]
command=/usr/bin/web --port 80%(process_num)02d
process_name=web-%(process_num)d
numprocs=2
numprocs_start=1
stdout_logfile=/var/log/web-%(process_num)d.log
`,
		want: `services:
  - name: web-1
    command: [/usr/bin/web, --port, "8001"]
    log-file: /var/log/web-1.log
  - name: web-2
    command: [/usr/bin/web, --port, "8002"]
    log-file: /var/log/web-2.log
`,
		warnings: []string{"test.conf:4 numprocs: the options use %(process_num): imported as 2 services"},
	}, {
		name: "daemon settings, logs, signals, unsupported options",
		src: `[supervisord]
environment=TZ="UTC",LANG=C
user=nobody
umask=027
logfile=/var/log/supervisord.log

[program:a]
command=/bin/a
user=root
umask=002
environment=LANG="en_US.UTF-8",X="1,2"
autostart=false
autorestart=true
startsecs=0
stopsignal=HUP
stopwaitsecs=30
stdout_logfile=NONE
stderr_logfile=/var/log/a.err
stdout_logfile_backups=0
exitcodes=0,2
frobnicate=1

[program:b]
command=/bin/b
redirect_stderr=true
stdout_logfile=/var/log/b.log
stdout_logfile_maxbytes=0
stderr_logfile=/var/log/b.err
`,
		want: `services:
  - name: a
    command: [/bin/a]
    environment:
      TZ: UTC
      LANG: en_US.UTF-8
      X: 1,2
    user: root
    umask: "0002"
    log-rotate: {size: 50MB, keep: 1}
    stop-signal: SIGHUP
    stop-timeout: 30s
    auto-start: false
  - name: b
    command: [/bin/b]
    environment:
      TZ: UTC
      LANG: C
    user: nobody
    umask: "0027"
    log-file: /var/log/b.log
`,
		warnings: []string{
			"test.conf:2 environment: supervisord's environment is added",
			"test.conf:3 user: supervisord runs as nobody",
			"test.conf:4 umask: supervisord's umask is its programs'",
			"test.conf:5 logfile: a setting of supervisord itself",
			"test.conf:17 stdout_logfile: shepherd always keeps a log",
			"test.conf:18 stderr_logfile: standard error goes to the log file with standard output (the default log file)",
			"test.conf:19 stdout_logfile_backups: 0 backups",
			"test.conf:20 exitcodes: exit codes other than 0",
			"test.conf:21 frobnicate: frobnicate is not a setting",
		},
	}, {
		name: "sections that are not programs, and broken programs",
		src: `[eventlistener:memmon]
command=memmon -a 200MB
[fcgi-program:php]
command=/usr/bin/php-cgi
[weird]
x=1
[program:]
command=/bin/true
[program:nocmd]
autostart=true
[program:badcmd]
command=/bin/echo "unclosed
[program:badexp]
command=/bin/echo %(nope)s %(ENV_MISSING)s
[program:badnum]
command=/bin/true
numprocs=2
[program:lessnum]
command=/bin/true
numprocs=zero
`,
		want: `services:
  - name: nocmd
  - name: badcmd
  - name: badexp
`,
		warnings: []string{
			"test.conf:1 [eventlistener:memmon]: eventlistener sections are not imported",
			"test.conf:3 [fcgi-program:php]: fcgi-program sections are not imported",
			"test.conf:5 [weird]: not a section of supervisord.conf",
			"test.conf:7 [program:]: a program without a name",
			"test.conf:9 command: a program without a command",
			`test.conf:12 command: no closing quotation: the program is imported without a process`,
			`test.conf:14 command: "/bin/echo %(nope)s %(ENV_MISSING)s": %(nope)s names nothing supervisord knows`,
			"test.conf:15 process_name: numprocs is 2, and process_name \"%(program_name)s\" does not include %(process_num)s",
			`test.conf:20 numprocs: "zero" is not a number of processes`,
		},
	}, {
		name: "priorities that differ",
		src: `[program:db]
command=/bin/db
priority=1
[program:app]
command=/bin/app
`,
		want: `services:
  - name: db
    command: [/bin/db]
  - name: app
    command: [/bin/app]
`,
		warnings: []string{"test.conf:3 priority: priority 1: the start order is not carried over"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Import("test.conf", []byte(tc.src), opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := importertest.Services(t, r); got != tc.want {
				t.Errorf("services:\n%s\nwant:\n%s", got, tc.want)
			}
			importertest.CheckWarnings(t, r, tc.warnings)
			out, _ := r.YAML()
			importertest.Load(t, tc.name, out)
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	for src, want := range map[string]string{
		"command=/bin/true\n":          "test.conf:1: an option before the first [section]: command=/bin/true",
		"[program:a]\njust words\n":    `test.conf:2: not an option "key = value": just words`,
		"[program:a]\n=value\n":        `test.conf:2: not an option "key = value": =value`,
		string([]byte{'[', 0xff, ']'}): "test.conf: the file is not valid UTF-8",
	} {
		_, err := Import("test.conf", []byte(src), Options{})
		if err == nil || err.Error() != want {
			t.Errorf("Import(%q) = %v, want %s", src, err, want)
		}
	}
}
