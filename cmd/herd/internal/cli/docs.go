package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdDoc(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "doc SERVICE [list-actions | action ACTION]",
		Short: "Show a service's documentation or its actions",
		Args:  cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 && !(len(args) == 2 && args[1] == "list-actions") && !(len(args) == 3 && args[1] == "action") {
				return cmdutil.UsageError("doc: expected 'list-actions' or 'action ACTION' after the service")
			}
			rep, err := f.Request(wire.Request{Action: "doc", Service: args[0]})
			if err != nil {
				return err
			}
			if !rep.OK {
				return f.ReplyError(rep.Error, args[0])
			}
			var doc wire.Doc
			if err := json.Unmarshal(rep.Result, &doc); err != nil {
				return f.Fail("malformed reply from the daemon: " + err.Error())
			}
			if len(args) == 3 && !slices.ContainsFunc(doc.Actions, func(a wire.ActionDoc) bool { return a.Name == args[2] }) {
				return f.FailKind(wire.ActionNotFound, "service '"+args[0]+"' does not have an action '"+args[2]+"'")
			}
			if f.JSON {
				// The whole documentation, whichever part was asked for.
				return f.PrintDoc(doc)
			}
			switch {
			case len(args) == 1:
				f.Say("%s", orNoDescription(doc.Documentation))
			case len(args) == 2 && args[1] == "list-actions":
				for _, a := range doc.Actions {
					f.Say("%s", a.Name)
				}
			case len(args) == 3 && args[1] == "action":
				for _, a := range doc.Actions {
					if a.Name == args[2] {
						f.Say("%s", orNoDescription(a.Documentation))
						for _, arg := range a.Args {
							f.Say("%s", strings.TrimRight(fmt.Sprintf("  %s  (%s) %s", strings.ToUpper(arg.Name), arg.Pattern, arg.Documentation), " "))
						}
						return nil
					}
				}
			}
			return nil
		},
	}
}

func orNoDescription(s string) string {
	if s == "" {
		return "[No description]."
	}
	return s
}
