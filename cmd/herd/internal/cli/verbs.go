package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// A word that is not one of herd's commands is a service's custom action
// only when the service has it. `herd strat clock` is sent as the action
// strat of clock (the daemon decides: it alone knows the actions, and a
// second round trip to ask first would race a reload); when the daemon
// answers that clock has no action strat, or that there is no service
// clock, and strat is close to a command, the typo is the likelier
// story, and herd says so as cobra does for `herd statsu`: a usage
// error, exit 2.

// unknownAction reports a failed custom action. e is the daemon's error.
func unknownAction(f *cmdutil.Factory, root *cobra.Command, e *wire.Error, action, service string) error {
	if e == nil || (e.Kind != wire.ActionNotFound && e.Kind != wire.ServiceNotFound) {
		return f.ReplyError(e, service)
	}
	if near := root.SuggestionsFor(action); len(near) > 0 {
		return unknownCommand(f, action, near)
	}
	err := f.ReplyError(e, service)
	if e.Kind == wire.ActionNotFound && !f.JSON {
		actionsHint(f, service)
	}
	return err
}

// unknownCommand is the error of a word that is neither a command nor a
// custom action, close to the commands near.
func unknownCommand(f *cmdutil.Factory, word string, near []string) error {
	code := f.ReportUsage(fmt.Errorf("unknown command %q; did you mean %s?", word, strings.Join(near, " or ")), nil)
	if !f.JSON {
		fmt.Fprintln(f.Err, "Run 'herd --help' for the commands.")
	}
	return cmdutil.Failure{Code: code}
}

// actionsHintWait bounds the question that follows an unknown action: the
// error is printed already, and a slow daemon only loses the hint.
const actionsHintWait = time.Second

// actionsHint says which actions service has, after the error that it
// has not the one asked for.
func actionsHint(f *cmdutil.Factory, service string) {
	rep, err := f.QuietCall(wire.Request{Action: "doc", Service: service, Cap: f.Cap}, actionsHintWait)
	if err != nil {
		return
	}
	var doc wire.Doc
	if json.Unmarshal(rep.Result, &doc) != nil {
		return
	}
	if len(doc.Actions) == 0 {
		fmt.Fprintf(f.Err, "Service %s has no custom actions; 'herd --help' lists the commands.\n", doc.Service)
		return
	}
	names := make([]string, len(doc.Actions))
	for i, a := range doc.Actions {
		names[i] = a.Name
	}
	fmt.Fprintf(f.Err, "Service %s has the actions: %s ('herd doc %s action ACTION' says what one does).\n", doc.Service, strings.Join(names, ", "), service)
}
