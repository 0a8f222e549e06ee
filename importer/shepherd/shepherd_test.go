package shepherd

import (
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/importer/importertest"
)

func TestImport(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
		warnings        []string
	}{{
		name: "forkexec keys, kill destructor, started by name",
		src: `(use-modules (shepherd service))
(define web-env (cons* "PORT=8080" "LANG=C.UTF-8" (default-environment-variables)))
(define web
  (service '(web httpd)
    #:documentation "Serve
      the site."
    #:requirement '(db)
    #:start (make-forkexec-constructor
             (list "/usr/bin/python3" "-m" "http.server" (number->string 8080))
             #:user "www-data" #:group "www-data"
             #:supplementary-groups '("adm")
             #:directory "/srv/www"
             #:log-file "/var/log/web.log"
             #:environment-variables web-env
             #:file-creation-mask #o027
             #:resource-limits '((nofile 1024 4096) (core 0 0)))
    #:stop (make-kill-destructor SIGINT #:grace-period 10)
    #:respawn? #t
    #:respawn-limit '(3 . 5)
    #:respawn-delay 0.5))
(define db (service '(db) #:start (make-forkexec-constructor '("/usr/bin/db")) #:stop (make-kill-destructor)))
(register-services (list web db))
(start-in-the-background '(httpd))
`,
		want: `services:
  - name: web
    provides: [httpd]
    requires: [db]
    documentation: Serve the site.
    command: [/usr/bin/python3, -m, http.server, "8080"]
    environment:
      PORT: "8080"
      LANG: C.UTF-8
    directory: /srv/www
    user: www-data
    group: www-data
    supplementary-groups: [adm]
    umask: "0027"
    limits:
      nofile: {soft: 1024, hard: 4096}
      core: 0
    log-file: /var/log/web.log
    respawn: true
    respawn-limit: {count: 3, seconds: 5}
    respawn-delay: 500ms
    stop-signal: SIGINT
    stop-timeout: 10s
    auto-start: true
  - name: db
    command: [/usr/bin/db]
    respawn: false
    auto-start: false
`,
	}, {
		name: "actions",
		src: `(service '(d)
  #:start (make-forkexec-constructor '("/usr/sbin/d" "-f"))
  #:stop (make-kill-destructor)
  #:actions (actions
              (reload "Reload the
                configuration." (lambda (running) (kill running SIGHUP)))
              (rotate (lambda (pid) (system* "/usr/bin/d-ctl" "rotate" "--pid" (number->string pid)) #t))
              (check "Check." (lambda (_) (zero? (system "d -t && echo ok"))))
              (dump (lambda (running) (invoke "/usr/bin/d-ctl" "dump")))
              (cmd (lambda (running) (command '("/bin/true"))))
              (set-level (lambda (running level) (system* "d-ctl" level)))
              (status (lambda (running) (system* "true")))
              (two (lambda (running) (display "x") (system* "true")))
              (weird (lambda (running) (call-with-output-file "/tmp/x" write)))))
`,
		want: `services:
  - name: d
    command: [/usr/sbin/d, -f]
    respawn: false
    auto-start: false
    actions:
      reload:
        command: [/bin/kill, -s, HUP, $MAINPID]
        documentation: Reload the configuration.
      rotate:
        command: [/usr/bin/d-ctl, rotate, --pid, $MAINPID]
      check:
        command: [/bin/sh, -c, d -t && echo ok]
        documentation: Check.
      dump:
        command: [/usr/bin/d-ctl, dump]
      cmd:
        command: [/bin/true]
`,
		warnings: []string{
			"test.scm:11:34 action set-level: an action that takes arguments is not supported",
			"test.scm:12:15 action status: status is a built-in action in shepherd",
			"test.scm:13:20 action two: only an action that runs one command is carried over (this one has 2 forms)",
			`test.scm:14:40 action weird: (call-with-output-file "/tmp/x" write) is not a command the importer can carry over`,
		},
	}, {
		name: "GOOPS make <service>",
		src: `(register-services
 (make <service>
   #:provides '(local-net)
   #:docstring "The local network."
   #:start (make-system-constructor "/sbin/ifconfig" " " "eth0" " " "192.168.0.9")
   #:stop (make-system-destructor "/sbin/ifconfig eth0 down"))
 (make <service>
   #:provides '(term-1)
   #:requires '(local-net)
   #:respawn? #t
   #:start (make-forkexec-constructor "/sbin/getty" "38400" "tty1")
   #:stop (make-kill-destructor)))
(for-each start '(term-1))
`,
		want: `services:
  - name: local-net
    documentation: The local network.
    command: [/bin/sh, -c, /sbin/ifconfig eth0 192.168.0.9]
    one-shot: true
    auto-start: false
  - name: term-1
    requires: [local-net]
    command: [/sbin/getty, "38400", tty1]
    respawn: true
    auto-start: true
`,
		warnings: []string{
			"test.scm:5:12 #:start: make-system-constructor runs a command that must succeed",
			"test.scm:6:11 #:stop: a stop command is not supported",
		},
	}, {
		name: "Guix shepherd-service records",
		src: `(list
 (shepherd-service
  (documentation "Run the foo daemon.")
  (provision '(foo foo-daemon))
  (requirement '(networking user-processes))
  (modules '((shepherd support)))
  (start #~(make-forkexec-constructor
            (list #$(file-append foo "/bin/food") "--foreground")
            #:pid-file "/var/run/foo.pid"))
  (stop #~(make-kill-destructor))
  (actions (list (shepherd-action
                  (name 'rotate)
                  (documentation "Rotate the logs.")
                  (procedure #~(lambda (running) (invoke "/run/current-system/profile/bin/foo-ctl" "rotate")))))))
 (shepherd-service
  (provision '(networking))
  (one-shot? #t)
  (auto-start? #f)
  (start #~(make-forkexec-constructor '("/bin/true")))))
`,
		want: `services:
  - name: foo
    provides: [foo-daemon]
    requires: [networking]
    documentation: Run the foo daemon.
    actions:
      rotate:
        command: [/run/current-system/profile/bin/foo-ctl, rotate]
        documentation: Rotate the logs.
  - name: networking
    command: [/bin/true]
    one-shot: true
    auto-start: false
`,
		warnings: []string{
			"test.scm:5:29 requirement: requirement user-processes is not among the imported services",
			"test.scm:8:19 start: #$(file-append foo \"/bin/food\") is a Guix package or file, known only when Guix builds the system: the service is imported without a process",
		},
	}, {
		name: "values the importer cannot compute, and odd forms",
		src: `(define cmd (list (getenv "HOME") "x"))
(define (helper) 1)
(service '(a)
  #:start (make-forkexec-constructor cmd #:log-file "relative.log" #:bogus 1 #:environment-variables '("A=1" "B"))
  #:stop (make-kill-destructor 'SIGFOO)
  #:transient? #t
  #:respawn-limit 5
  #:termination-handler helper)
(service '(b)
  #:start (make-forkexec-constructor '("/bin/b") #:environment-variables '("A=1") #:create-session? #f)
  #:requirement '(b a nowhere))
(service '(c) #:respawn? maybe)
(service #:start 1)
(service "not a list")
(start-service (lookup-service 'b))
(start-service unknown)
(display "hello")
`,
		want: `services:
  - name: a
    auto-start: false
  - name: b
    requires: [a]
    command: [/bin/b]
    environment:
      A: "1"
    respawn: false
    auto-start: true
  - name: c
    auto-start: false
`,
		warnings: []string{
			"test.scm:1:19 #:start: (getenv \"HOME\") depends on the environment shepherd runs in: the service is imported without a process",
			"test.scm:2:1 define: procedure helper is Scheme code",
			"test.scm:5:32 #:stop: 'SIGFOO is not a signal",
			"test.scm:6:16 #:transient?: transient services",
			"test.scm:7:19 #:respawn-limit: 5 is not '(COUNT . SECONDS) or #f",
			"test.scm:8:25 #:termination-handler: #:termination-handler is not supported",
			"test.scm:9:1 #:stop: the service has no #:stop",
			"test.scm:10:74 #:environment-variables: in GNU Shepherd this list is the whole environment",
			"test.scm:10:101 #:create-session?: every service runs in a session of its own",
			"test.scm:11:19 #:requirement: service b requires itself",
			"test.scm:11:23 #:requirement: requirement nowhere is not among the imported services",
			"test.scm:12:26 #:respawn?: maybe is not defined in this file",
			"test.scm:13:1 service: a service without a provision",
			"test.scm:14:10 provision: \"not a list\" is not a list of names",
			"test.scm:16:16 start-service: unknown does not name services of this file",
			"test.scm:17:1 display: Scheme code other than service definitions is not evaluated",
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Import("test.scm", []byte(tc.src))
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

func TestSyntaxError(t *testing.T) {
	_, err := Import("bad.scm", []byte("(service '(a)\n  #:start (make-forkexec-constructor '(\"/bin/a\")"))
	if err == nil || err.Error() != `bad.scm:2:11: '(' is not closed: the file ends` {
		t.Errorf("error %v", err)
	}
	_, err = Import("big.scm", []byte(strings.Repeat("(", 1000)))
	if err == nil || !strings.HasPrefix(err.Error(), "big.scm:1:257: nested more than 256 deep") {
		t.Errorf("error %v", err)
	}
}
