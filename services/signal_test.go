package services

import (
	"errors"
	"syscall"
	"testing"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]syscall.Signal{
		"HUP": syscall.SIGHUP, "SIGHUP": syscall.SIGHUP, "hup": syscall.SIGHUP, "sigterm": syscall.SIGTERM,
		"KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1, "9": syscall.SIGKILL, "64": syscall.Signal(64), "1": syscall.SIGHUP,
	} {
		got, err := ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "65", "-1", "FOO", "SIG", "SIGFOO", "HUP ", "TERM;id"} {
		_, err := ParseSignal(in)
		var bad *BadSignalError
		if !errors.As(err, &bad) || bad.Name != in {
			t.Errorf("ParseSignal(%q): error %v, want a *BadSignalError", in, err)
		}
	}
}
