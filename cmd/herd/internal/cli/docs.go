package cli

import (
	"fmt"
	"strings"

	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdDoc(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "doc SERVICE [list-actions | action ACTION]",
		Short: "Show a service's documentation or its actions",
		Args:  cobra.RangeArgs(1, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			var doc wire.Doc
			if done, err := f.call(wire.Request{Action: "doc", Service: args[0]}, args[0], &doc); done || err != nil {
				return err
			}
			switch {
			case len(args) == 1:
				f.say("%s", orNoDescription(doc.Documentation))
			case len(args) == 2 && args[1] == "list-actions":
				for _, a := range doc.Actions {
					f.say("%s", a.Name)
				}
			case len(args) == 3 && args[1] == "action":
				for _, a := range doc.Actions {
					if a.Name == args[2] {
						f.say("%s", orNoDescription(a.Documentation))
						for _, arg := range a.Args {
							f.say("%s", strings.TrimRight(fmt.Sprintf("  %s  (%s) %s", strings.ToUpper(arg.Name), arg.Pattern, arg.Documentation), " "))
						}
						return nil
					}
				}
				return f.fail("service '" + args[0] + "' does not have an action '" + args[2] + "'")
			default:
				return usageError("doc: expected 'list-actions' or 'action ACTION' after the service")
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

// usageError is a usage problem (exit 2) found after cobra's parsing.
type usageErr string

func (u usageErr) Error() string { return string(u) }

func usageError(msg string) error { return usageErr(msg) }
