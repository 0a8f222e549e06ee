package config

import (
	"strings"
	"testing"
)

func TestStderrLogFile(t *testing.T) {
	s, errs := parseOne(t, "services:\n  - name: a\n    command: [x]\n    stderr-log-file: /var/log/a.err\n    instances: 2\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if s.StderrLogFile != "/var/log/a.err" || s.Instance(2).StderrLogFile != "/var/log/a.err.2" {
		t.Fatalf("%q, instance 2 %q", s.StderrLogFile, s.Instance(2).StderrLogFile)
	}
	_, errs = Parse("bad.yaml", []byte(`services:
  - name: a
    command: [x]
    stderr-log-file: relative.err
  - name: b
    stderr-log-file: /b.err
  - name: c
    command: [x]
    log-file: /var/log/c.log
    stderr-log-file: /var/log//c.log
`), testAccounts)
	errs.Sort()
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`bad.yaml:4:22: stderr-log-file: "relative.err" must be an absolute path`,
		`bad.yaml:6:22: service b: stderr-log-file needs a command (it is where the process's stderr goes)`,
		`bad.yaml:10:22: service c: stderr-log-file is the log-file; without stderr-log-file, stderr goes to the log-file with stdout`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
