package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services/alerting"
	"github.com/shepherd-go/shepherd/services/notifyconfig"
)

func TestNotifySection(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	file := filepath.Join(dir, "s.yaml")
	os.WriteFile(file, []byte(`services:
  - name: web
    command: [/bin/true]
notify:
  recover-after: 2s
  retry-max: 1s
  targets:
    hook:
      type: webhook
      url: http://127.0.0.1:9/x
      headers: {Authorization: Bearer abc}
      body: '{"text": {{json .Message}}}'
      cooldown: 10m
      on-resolve: true
    mail:
      type: email
      smtp: 127.0.0.1:25
      from: shepherd@example.com
      to: ops@example.com
      password-file: `+pw+`
    page:
      type: script
      command: /usr/local/bin/page --now
  rules:
    - on: [service-failed, respawn-limit]
      services: ["web*"]
      to: [hook, mail]
    - {on: job-failed, to: page}
`), 0o644)
	cfg, err := LoadPath(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Notify
	if n == nil || len(n.Targets) != 3 || n.Policy.RecoverAfter != 2*time.Second || n.RetryMax != time.Second {
		t.Fatalf("notify: %+v", n)
	}
	if n.Targets[0].Method != "POST" || n.Targets[0].Headers["Authorization"] != "Bearer abc" || n.Targets[1].Password != "s3cret" ||
		strings.Join(n.Targets[2].Command, " ") != "/usr/local/bin/page --now" {
		t.Errorf("targets: %+v", n.Targets)
	}
	if len(n.Policy.Rules) != 2 || n.Policy.Rules[1].On[0] != alerting.JobFailed || n.Policy.Targets[0].Cooldown != 10*time.Minute || !n.Policy.Targets[0].OnResolve {
		t.Errorf("policy: %+v", n.Policy)
	}
	if got, err := LoadNotify(file); err != nil || got == nil || len(got.Targets) != 3 {
		t.Errorf("LoadNotify: %v %v", got, err)
	}
}

func TestNotifyErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(file, []byte(`notify:
  targets:
    hook:
      type: webhook
      url: ftp://x
      body: '{{.Nope'
    quoted:
      type: webhook
      url: https://hooks.example.com/x
      body: '{"text": "{{.Subject}}: {{.Message}}", "host": "{{.Host}}"}'
    bad name:
      type: pager
    mail:
      type: email
      smtp: nohost
    sh:
      type: script
      command: page
  rules:
    - on: [service-exploded]
      to: [nobody]
  colour: red
`), 0o644)
	_, err := LoadPath(file, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"s.yaml:5:12: notify: target hook: url: expected an http:// or https:// URL",
		"s.yaml:6:13: notify: target hook: bad template",
		`s.yaml:10:13: notify: target quoted: body: {{.Subject}} inside a JSON string is not escaped: a quote or a newline in it (a service's output) breaks the JSON or adds fields; write {{json .Subject}} in place of the whole string`,
		"s.yaml:11:5: notify: target bad name: a target name is letters",
		`s.yaml:12:13: notify: target bad name: unknown type "pager"`,
		"s.yaml:15:13: notify: target mail: smtp: expected HOST:PORT",
		"s.yaml:14:7: notify: target mail: a email target needs from",
		`s.yaml:17:7: notify: target sh: command: "page" must be an absolute path`,
		`s.yaml:20:11: notify: rule 1: on: unknown alert "service-exploded"`,
		`s.yaml:21:11: notify: rule 1: to: no target "nobody"`,
		`s.yaml:22:3: notify: unknown key "colour"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func FuzzNotify(f *testing.F) {
	f.Add([]byte("notify:\n  targets:\n    h: {type: webhook, url: 'http://x/', body: '{{json .Message}}'}\n  rules: [{on: [flapping], to: [h]}]\n"))
	f.Add([]byte("notify:\n  targets:\n    m: {type: email, smtp: 'a:1', from: a, to: [b]}\n    s: {type: script, command: /bin/x}\n  rules: [{services: ['[', x], to: m}]\n"))
	f.Add([]byte("notify: [1, {x: y}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, errs := notifyconfig.Parse("f.yaml", data)
		for _, e := range errs {
			if e.Pos.Line < 1 || e.Pos.File != "f.yaml" {
				t.Fatalf("error without a position: %v", e)
			}
		}
	})
}

func TestPasswordFileMustBeASmallRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, 5000), 0o600)
	for _, f := range []string{fifo, big, "/dev/zero"} {
		file := filepath.Join(dir, "s.yaml")
		os.WriteFile(file, []byte("notify:\n  targets:\n    m: {type: email, smtp: 'a:1', from: a, to: [b], password-file: "+f+"}\n  rules: [{to: [m]}]\n"), 0o644)
		if _, err := LoadNotify(file); err == nil || !strings.Contains(err.Error(), "s.yaml:3:") {
			t.Errorf("%s: %v", f, err)
		}
	}
}
