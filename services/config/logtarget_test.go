package config

import (
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/services"
)

func TestLogTarget(t *testing.T) {
	for _, c := range []struct {
		yaml string
		want services.LogTarget
	}{{"", services.LogFile}, {"log: file", services.LogFile}, {"log: syslog", services.LogSyslog}, {"log: both\n    log-file: /var/log/a.log", services.LogBoth}} {
		s, errs := parseOne(t, "services:\n  - name: a\n    command: [x]\n    "+c.yaml+"\n")
		if len(errs) > 0 || s.Log != c.want {
			t.Errorf("%q: %v %v, want %v", c.yaml, errs, s.Log, c.want)
		}
	}
	_, errs := Parse("bad.yaml", []byte(`services:
  - name: a
    command: [x]
    log: journal
  - name: b
    command: [x]
    log: syslog
    stderr-log-file: /b.err
    log-rotate: {size: 1M}
`), testAccounts)
	errs.Sort()
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`bad.yaml:4:10: log: expected file, syslog or both, got "journal"`,
		`bad.yaml:7:10: service b: log: syslog writes no file, and stderr-log-file is set: say log: both to keep the files too, or remove stderr-log-file`,
		`bad.yaml:7:10: service b: log: syslog writes no file, and log-rotate is set: say log: both to keep the files too, or remove log-rotate`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
