package cli

import (
	"encoding/json"
	"fmt"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// herd is-active, is-failed and is-enabled answer as systemctl's verbs
// do (systemctl(1), and its code: systemctl-is-active.c,
// systemctl-is-enabled.c), so that scripts written for one work with the
// other: each prints the state of every service named, one line each in
// argument order (nothing with -q), and exits 0 when at least one is in
// the state asked about; else 4 when none of them exists (LSB's "program
// or service status is unknown"); else 3 for is-active (LSB's "program
// is not running") and 1 for is-failed and is-enabled. A service that
// does not exist prints inactive (is-active, is-failed) or not-found
// (is-enabled), as systemctl does. An error (no daemon, no capability)
// exits 1 whatever the others say.

// LSB exit codes that systemctl's is-* verbs use.
const (
	exitNotRunning = 3 // is-active: none is active
	exitUnknown    = 4 // none of the services exists
)

// isVerb is one of the is-* verbs: the state word it prints for a
// service, whether that state is the one asked about, and its exit code
// when no service is.
type isVerb struct {
	name, short string
	word        func(wire.Status) string
	notFound    string
	holds       func(word string) bool
	otherwise   int
}

var isVerbs = []isVerb{
	{
		name: "is-active", short: "Exit 0 if one of the services is running (systemctl is-active)",
		word: activeState, notFound: "inactive", otherwise: exitNotRunning,
		holds: func(w string) bool { return w == "active" },
	},
	{
		name: "is-failed", short: "Exit 0 if one of the services failed (systemctl is-failed)",
		word: activeState, notFound: "inactive", otherwise: cmdutil.ExitFailure,
		holds: func(w string) bool { return w == "failed" },
	},
	{
		name: "is-enabled", short: "Exit 0 if one of the services is enabled (systemctl is-enabled)",
		word: enabledState, notFound: "not-found", otherwise: cmdutil.ExitFailure,
		holds: func(w string) bool { return w == "enabled" },
	},
}

// activeState is systemctl's word (a unit's ActiveState) for a service's
// state: active, activating, deactivating, inactive or failed; a state
// systemd has no word for (a remote service's unreachable) as herd says
// it.
func activeState(s wire.Status) string {
	switch {
	case s.State == wire.StateRunning:
		return "active"
	case s.State == wire.StateStarting:
		return "activating"
	case s.State == wire.StateStopping:
		return "deactivating"
	case s.State == wire.StateFailed || s.Failing:
		return "failed"
	case s.State == wire.StateStopped:
		return "inactive"
	}
	return s.State
}

func enabledState(s wire.Status) string {
	if s.Enabled {
		return "enabled"
	}
	return "disabled"
}

// IsStates is the --json document of an is-* verb: the state of each
// service, in argument order (one document, for one service or several).
type IsStates struct {
	Services []IsState `json:"services"`
}

// IsState is one service's state.
type IsState struct {
	Service string `json:"service"`
	State   string `json:"state"`
	// Found is false for a service the daemon does not know.
	Found bool `json:"found"`
}

func newCmdIs(f *cmdutil.Factory, v isVerb) *cobra.Command {
	return &cobra.Command{
		Use:   v.name + " SERVICE...",
		Short: v.short,
		Args:  needServices,
		// The exit code is the answer: -q prints nothing, whatever it is.
		Annotations: map[string]string{silentWhenQuiet: "yes"},
		RunE: func(cmd *cobra.Command, args []string) error {
			states := make([]IsState, len(args))
			err := cmdutil.EachService(f, args, cmdutil.EachOpts{}, func(g *cmdutil.Factory, i int) error {
				st, err := isState(g, v, args[i])
				states[i] = st
				return err
			})
			if err != nil {
				return err
			}
			if f.JSON && !f.Quiet {
				if err := f.PrintDoc(IsStates{Services: states}); err != nil {
					return f.Fail(err.Error())
				}
			}
			if code := isExit(v, states); code != cmdutil.ExitOK {
				return cmdutil.Failure{Code: code}
			}
			return nil
		},
	}
}

// isState asks for one service's state and prints it (as text: --json's
// document has them all).
func isState(g *cmdutil.Factory, v isVerb, name string) (IsState, error) {
	st := IsState{Service: name, State: v.notFound}
	rep, err := g.Request(wire.Request{Action: "status", Service: name, Args: []string{"-n", "0"}})
	if err != nil {
		return st, err
	}
	switch {
	case !rep.OK && rep.Error != nil && rep.Error.Kind == wire.ServiceNotFound:
		if !g.Quiet && !g.JSON {
			fmt.Fprintf(g.Err, "herd: error: service '%s' could not be found\n", name)
		}
	case !rep.OK:
		return st, g.ReplyError(rep.Error, name)
	default:
		var s wire.Status
		if err := json.Unmarshal(rep.Result, &s); err != nil {
			return st, g.Fail("malformed reply from the daemon: " + err.Error())
		}
		st.State, st.Found = v.word(s), true
	}
	if !g.Quiet && !g.JSON {
		fmt.Fprintln(g.Out, st.State)
	}
	return st, nil
}

// isExit is the exit code of an is-* verb whose services are in states.
func isExit(v isVerb, states []IsState) int {
	found := false
	for _, s := range states {
		if s.Found && v.holds(s.State) {
			return cmdutil.ExitOK
		}
		found = found || s.Found
	}
	if !found {
		return exitUnknown
	}
	return v.otherwise
}
