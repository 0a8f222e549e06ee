package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// capOptions are the options of `herd cap ...`, sent to the daemon as one
// JSON argument.
type capOptions struct {
	Service string   `json:"service,omitempty"`
	Ref     string   `json:"ref,omitempty"`
	Actions []string `json:"actions,omitempty"`
	User    string   `json:"user,omitempty"`
	Expires string   `json:"expires,omitempty"`
	Allow   []string `json:"allow,omitempty"`
	Peer    string   `json:"peer,omitempty"`
}

func newCmdCap(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "cap", Short: "Grant, attenuate, revoke and list capabilities"}
	var o capOptions
	grant := &cobra.Command{
		Use:   "grant SERVICE --actions A,B [--to-user U | --to-peer P] [--expires D]",
		Short: "Grant some actions on one service to a user or a daemon; prints the sturdyref",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Service = args[0]
			if len(o.Actions) == 0 && o.Service != "exec" {
				return usageError("cap grant: --actions is required")
			}
			return f.capCall("cap-grant", o)
		},
	}
	attenuate := &cobra.Command{
		Use:   "attenuate REF [--actions A,B] [--expires D] [--to-user U]",
		Short: "Make a capability with fewer rights than REF; prints its sturdyref",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Ref = args[0]
			return f.capCall("cap-attenuate", o)
		},
	}
	for _, c := range []*cobra.Command{grant, attenuate} {
		c.Flags().StringSliceVar(&o.Actions, "actions", nil, "allowed actions, comma separated")
		c.Flags().StringVar(&o.User, "to-user", "", "the local user (name or uid) who may use it")
		c.Flags().StringVar(&o.Peer, "to-peer", "", "the daemon (libp2p peer ID, see herd id) that may use it")
		c.Flags().StringVar(&o.Expires, "expires", "", "lifetime, such as 24h")
		c.Flags().StringArrayVar(&o.Allow, "allow", nil, "exec capabilities: an allowed command line, or a prefix ending in ' *'")
	}
	revoke := &cobra.Command{
		Use:   "revoke REF",
		Short: "Revoke a capability and every capability derived from it",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Ref = args[0]
			return f.capCall("cap-revoke", o)
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List capabilities (yours, or all for root)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return f.capCall("cap-list", o)
		},
	}
	importCmd := &cobra.Command{
		Use:   "import NAME REF",
		Short: "Make a capability a local service NAME (a proxy to the daemon that exported it)",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			var res wire.LoadResult
			if done, err := f.call(wire.Request{Action: "cap-import", Args: args}, args[0], &res); done || err != nil {
				return err
			}
			f.say("Imported service %s.", args[0])
			return nil
		},
	}
	cmd.AddCommand(grant, attenuate, revoke, list, importCmd)
	return cmd
}

func (f *Factory) capCall(action string, o capOptions) error {
	b, _ := json.Marshal(o)
	req := wire.Request{Action: action, Args: []string{string(b)}}
	switch action {
	case "cap-list":
		var l wire.CapList
		if done, err := f.call(req, "", &l); done || err != nil {
			return err
		}
		fmt.Fprint(f.Out, FormatCaps(l.Caps))
	case "cap-revoke":
		var c wire.CapInfo
		if done, err := f.call(req, "", &c); done || err != nil {
			return err
		}
		f.say("Revoked %s (and %d derived).", c.Ref, c.Derived)
	default:
		var c wire.CapInfo
		if done, err := f.call(req, o.Service, &c); done || err != nil {
			return err
		}
		f.say("%s", c.Ref)
	}
	return nil
}

// FormatCaps renders `herd cap list`.
func FormatCaps(caps []wire.CapInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s  %-10s  %-22s  %-12s  %-8s  %s\n", "TARGET", "HOLDER", "ACTIONS", "EXPIRES", "STATE", "REF")
	for _, c := range caps {
		state := "valid"
		switch {
		case c.Revoked:
			state = "revoked"
		case c.Expired:
			state = "expired"
		}
		exp := "never"
		if !c.Expires.IsZero() {
			exp = c.Expires.Local().Format("01-02 15:04")
		}
		fmt.Fprintf(&b, "%-16s  %-10s  %-22s  %-12s  %-8s  %s\n", c.Target, c.Holder, strings.Join(c.Actions, ","), exp, state, c.Ref)
	}
	return b.String()
}
