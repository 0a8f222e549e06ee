package config

import (
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

func TestExitCodes(t *testing.T) {
	s, errs := parseOne(t, `services:
  - name: java
    command: [java, -jar, app.jar]
    exit-codes: [0, 143, SIGTERM, hup, 143]
    respawn: on-failure
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := services.ExitCodes{Codes: []int{0, 143}, Signals: []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP}}
	if !reflect.DeepEqual(s.ExitCodes, want) {
		t.Fatalf("exit-codes %+v, want %+v", s.ExitCodes, want)
	}
	if !s.Respawn || !s.RespawnOnFailure {
		t.Fatalf("respawn: on-failure read as respawn=%v on-failure=%v", s.Respawn, s.RespawnOnFailure)
	}
	p := services.PolicyOf(s)
	for _, c := range []struct {
		st   lifecycle.ExitStatus
		want bool
	}{
		{lifecycle.ExitStatus{}, true},
		{lifecycle.ExitStatus{Code: 143}, true},
		{lifecycle.ExitStatus{Code: 1}, false},
		{lifecycle.ExitStatus{Signal: syscall.SIGTERM}, true},
		{lifecycle.ExitStatus{Signal: syscall.SIGKILL}, false},
		// A number is an exit code, never a signal: 15 is not SIGTERM's.
		{lifecycle.ExitStatus{Code: 15}, false},
		{lifecycle.ExitStatus{Unknown: true}, false},
	} {
		if got := !c.st.Unknown && p.ExitCodes.Success(c.st.Code, c.st.Signal); got != c.want {
			t.Errorf("Succeeded(%v) = %v, want %v", c.st, got, c.want)
		}
	}

	// Without the key, exit code 0 alone is a success; respawn is a bool.
	s, errs = parseOne(t, "services:\n  - name: a\n    command: [sleep, '1']\n    respawn: true\n")
	if len(errs) > 0 || !s.ExitCodes.Empty() || s.RespawnOnFailure || !s.Respawn {
		t.Fatalf("%v %+v", errs, s)
	}
}

func TestExitCodesErrors(t *testing.T) {
	_, errs := Parse("bad.yaml", []byte(`services:
  - name: a
    command: [x]
    exit-codes: [256, -1, SIGNOPE, [1], ~]
  - name: b
    exit-codes: 143
  - name: c
    exit-codes: [143]
  - name: d
    command: [x]
    one-shot: true
    respawn: on-failure
  - name: e
    command: [x]
    respawn: sometimes
`), testAccounts)
	errs.Sort()
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`bad.yaml:4:18: exit-codes: 256 is not an exit code 0..255`,
		`bad.yaml:4:23: exit-codes: -1 is not an exit code 0..255`,
		`bad.yaml:4:27: exit-codes: "SIGNOPE" is neither an exit code 0..255 nor a signal name such as SIGTERM`,
		`bad.yaml:4:36: exit-codes: expected an exit code or a signal name, got a list`,
		`bad.yaml:4:41: exit-codes: expected an exit code or a signal name, got nothing`,
		`bad.yaml:6:17: exit-codes: expected a list of exit codes (0..255) and signal names, such as [0, 143, SIGTERM], got "143"`,
		`bad.yaml:6:17: service b: exit-codes needs a command (it says which exits of the process are a success)`,
		`bad.yaml:8:17: service c: exit-codes needs a command (it says which exits of the process are a success)`,
		`bad.yaml:12:5: service d: a one-shot service cannot be respawned`,
		`bad.yaml:15:14: respawn: expected true, false or on-failure, got "sometimes"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
