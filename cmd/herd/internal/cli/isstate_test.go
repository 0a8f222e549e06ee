package cli

import (
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestActiveState(t *testing.T) {
	for _, tt := range []struct {
		s    wire.Status
		want string
	}{
		{wire.Status{State: wire.StateRunning}, "active"},
		{wire.Status{State: wire.StateStarting}, "activating"},
		{wire.Status{State: wire.StateStopping}, "deactivating"},
		{wire.Status{State: wire.StateStopped}, "inactive"},
		{wire.Status{State: wire.StateStopped, OneShot: true, Done: true}, "inactive"},
		{wire.Status{State: wire.StateStopped, Failing: true}, "failed"},
		{wire.Status{State: wire.StateFailed}, "failed"},
		{wire.Status{State: wire.StateUnreachable}, "unreachable"},
	} {
		if got := activeState(tt.s); got != tt.want {
			t.Errorf("activeState(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestIsExit(t *testing.T) {
	active, failed, enabled := isVerbs[0], isVerbs[1], isVerbs[2]
	st := func(state string) IsState { return IsState{State: state, Found: true} }
	gone := IsState{State: "inactive"}
	for _, tt := range []struct {
		name   string
		v      isVerb
		states []IsState
		want   int
	}{
		{"active", active, []IsState{st("active")}, cmdutil.ExitOK},
		{"one of several active", active, []IsState{st("inactive"), gone, st("active")}, cmdutil.ExitOK},
		{"none active", active, []IsState{st("inactive"), st("failed"), st("activating")}, 3},
		{"none exists", active, []IsState{gone, gone}, 4},
		{"one exists, not active", active, []IsState{gone, st("inactive")}, 3},
		{"failed", failed, []IsState{st("active"), st("failed")}, cmdutil.ExitOK},
		{"none failed", failed, []IsState{st("active"), st("inactive")}, 1},
		{"none failed, none exists", failed, []IsState{gone}, 4},
		{"enabled", enabled, []IsState{st("disabled"), st("enabled")}, cmdutil.ExitOK},
		{"none enabled", enabled, []IsState{st("disabled")}, 1},
		{"not found", enabled, []IsState{{State: "not-found"}}, 4},
	} {
		if got := isExit(tt.v, tt.states); got != tt.want {
			t.Errorf("%s: isExit = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestKillSignalShorthand(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"kill web -s HUP", "kill web --signal HUP"},
		{"-s /sock kill web -s HUP", "-s /sock kill web --signal HUP"},
		{"--socket /sock kill -sHUP web", "--socket /sock kill --signal=HUP web"},
		{"kill web -s=USR1 --kill-whom main", "kill web --signal=USR1 --kill-whom main"},
		{"-s /sock status web", "-s /sock status web"},
		{"start kill -s x", "start kill -s x"},
		{"kill web -- -s", "kill web -- -s"},
		{"-s kill status", "-s kill status"},
	} {
		if got := strings.Join(killSignalShorthand(strings.Fields(tt.in)), " "); got != tt.want {
			t.Errorf("killSignalShorthand(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
