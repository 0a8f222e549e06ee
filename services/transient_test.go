package services

import (
	"strings"
	"testing"
)

func TestTransientEnd(t *testing.T) {
	for _, c := range []struct {
		state        string
		armed, moved bool
		wantArmed    bool
		wantEnded    bool
	}{
		// Just made: stopped, never started: kept.
		{"stopped", false, false, false, false},
		// Started: armed.
		{"starting", false, true, true, false},
		{"running", false, true, true, false},
		{"running", true, false, true, false},
		// A respawn's delay is starting: kept.
		{"starting", true, true, true, false},
		{"stopping", true, true, true, false},
		// Exited without respawn, stopped, failed to start, respawn limit.
		{"stopped", true, true, false, true},
		{"failed", true, true, false, true},
		{"failed", false, true, false, true},
		// A flag changed on a stopped transient never seen running
		// (disable before its start ran): kept.
		{"stopped", false, false, false, false},
		// A flag changed after it ended (armed, no transition).
		{"stopped", true, false, false, true},
	} {
		armed, ended := TransientEnd(c.state, c.armed, c.moved)
		if armed != c.wantArmed || ended != c.wantEnded {
			t.Errorf("TransientEnd(%s, armed %v, moved %v) = armed %v, ended %v; want %v, %v",
				c.state, c.armed, c.moved, armed, ended, c.wantArmed, c.wantEnded)
		}
	}
}

func TestShellStatus(t *testing.T) {
	for _, c := range []struct {
		code   int
		signal string
		want   int
	}{
		{0, "", 0}, {3, "", 3}, {255, "", 255},
		{0, "SIGKILL", 137}, {0, "SIGTERM", 143}, {0, "SIGINT", 130},
		{0, "signal 40", 168}, {0, "nonsense", 255},
	} {
		if got := ShellStatus(c.code, c.signal); got != c.want {
			t.Errorf("ShellStatus(%d, %q) = %d, want %d", c.code, c.signal, got, c.want)
		}
	}
}

func TestTransientNames(t *testing.T) {
	if got := TransientName(7); got != "transient-7" {
		t.Errorf("TransientName(7) = %q", got)
	}
	for kept, want := range map[string]uint64{"": 1, "x": 1, "0": 1, "41": 42, "-3": 1} {
		if got := NextTransient([]byte(kept)); got != want {
			t.Errorf("NextTransient(%q) = %d, want %d", kept, got, want)
		}
	}
}

func TestCheckSpawnUser(t *testing.T) {
	if err := CheckSpawnUser(0, "nobody", 65534); err != nil {
		t.Errorf("root may run as anyone: %v", err)
	}
	if err := CheckSpawnUser(1000, "me", 1000); err != nil {
		t.Errorf("a user may run as itself: %v", err)
	}
	err := CheckSpawnUser(1000, "nobody", 65534)
	if err == nil || !strings.Contains(err.Error(), "permission denied") || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("a user running as another: %v", err)
	}
}

func TestIsTransientName(t *testing.T) {
	for name, want := range map[string]bool{
		"transient-1": true, "transient-0042": true,
		"transient-": false, "transient-x": false, "transient-1a": false, "web": false, "my-transient-1": false,
	} {
		if got := IsTransientName(name); got != want {
			t.Errorf("IsTransientName(%q) = %v, want %v", name, got, want)
		}
	}
}
