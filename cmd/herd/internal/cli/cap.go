package cli

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdCap(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "cap", Short: "Grant, attenuate, revoke and list capabilities"}
	var o wire.CapArgs
	var argPatterns []string
	var maxSize string
	grant := &cobra.Command{
		Use:   "grant SERVICE --actions A,B [--to-user U | --to-peer P | --to-http] [--expires D] [--arg ACTION=PATTERN]...",
		Short: "Grant some actions on one service to a user, a daemon or HTTP clients (daemon --to-http: the HTTP API's admin); prints the sturdyref",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.Service = args[0]
			if len(o.Actions) == 0 && o.Service != "exec" && o.Service != "read" && !o.Admin() {
				return cmdutil.UsageError("cap grant: --actions is required")
			}
			var err error
			if o.Args, err = parseArgPatterns(argPatterns); err != nil {
				return err
			}
			if o.MaxSize, err = parseSize(maxSize); err != nil {
				return err
			}
			return capCall(f, "cap-grant", o)
		},
	}
	attenuate := &cobra.Command{
		Use:   "attenuate REF|-|@FILE [--actions A,B] [--expires D] [--to-user U | --to-peer P] [--arg ACTION=PATTERN]...",
		Short: "Make a capability with fewer rights than REF; prints its sturdyref",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if o.Ref, err = f.RefArg(args[0]); err != nil {
				return cmdutil.UsageError("cap attenuate: " + err.Error())
			}
			if o.Args, err = parseArgPatterns(argPatterns); err != nil {
				return err
			}
			if o.MaxSize, err = parseSize(maxSize); err != nil {
				return err
			}
			return capCall(f, "cap-attenuate", o)
		},
	}
	for _, c := range []*cobra.Command{grant, attenuate} {
		c.Flags().StringArrayVar(&argPatterns, "arg", nil, "restrict a custom action's arguments: ACTION=PATTERN for each argument in order (a regular expression the whole argument must match); ACTION= allows none")
		c.Flags().StringSliceVar(&o.Actions, "actions", nil, "allowed actions, comma separated")
		c.Flags().StringVar(&o.User, "to-user", "", "the local user (name or uid) who may use it")
		c.Flags().StringVar(&o.Peer, "to-peer", "", "the daemon (libp2p peer ID, see herd id) that may use it")
		c.Flags().StringVar(&o.Expires, "expires", "", "lifetime, such as 24h")
		c.Flags().BoolVar(&o.HTTP, "to-http", false, "for clients of the daemon's HTTP API (shepherd --http) only; 'herd cap grant daemon --to-http' makes its admin capability")
		c.Flags().StringArrayVar(&o.Allow, "allow", nil, "exec capabilities: an allowed command line, or a prefix ending in ' *'; read capabilities: a path pattern such as '/etc/nginx/**'")
		c.Flags().StringArrayVar(&o.Paths, "path", nil, "file capabilities (herd cap grant files): a path pattern such as /srv/app/** or /etc/motd; repeat")
		c.Flags().StringVar(&maxSize, "max-size", "", "file capabilities: the largest file, such as 20M (default 64M)")
	}
	revoke := &cobra.Command{
		Use:   "revoke REF|-|@FILE",
		Short: "Revoke a capability and every capability derived from it",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if o.Ref, err = f.RefArg(args[0]); err != nil {
				return cmdutil.UsageError("cap revoke: " + err.Error())
			}
			return capCall(f, "cap-revoke", o)
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List capabilities (yours, or all for root)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return capCall(f, "cap-list", o)
		},
	}
	importCmd := &cobra.Command{
		Use:   "import NAME REF|-|@FILE",
		Short: "Make a capability a local service NAME (a proxy to the daemon that exported it)",
		Args:  cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			ref, err := f.RefArg(args[1])
			if err != nil {
				return cmdutil.UsageError("cap import: " + err.Error())
			}
			args = []string{args[0], ref}
			var res wire.LoadResult
			if done, err := f.Call(wire.Request{Action: "cap-import", Args: args}, args[0], &res); done || err != nil {
				return err
			}
			f.Say("Imported service %s.", args[0])
			return nil
		},
	}
	cmd.AddCommand(grant, attenuate, revoke, list, importCmd)
	return cmd
}

// parseArgPatterns reads --arg ACTION=PATTERN flags: each adds, in
// order, the pattern of the action's next argument; ACTION= alone allows
// the action no arguments.
func parseArgPatterns(flags []string) (map[string][]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for _, fl := range flags {
		action, pattern, ok := strings.Cut(fl, "=")
		if !ok || action == "" {
			return nil, cmdutil.UsageError(fmt.Sprintf("--arg %q: expected ACTION=PATTERN", fl))
		}
		if _, seen := out[action]; !seen {
			out[action] = []string{}
		}
		if pattern != "" {
			out[action] = append(out[action], pattern)
		}
	}
	return out, nil
}

func capCall(f *cmdutil.Factory, action string, o wire.CapArgs) error {
	b, _ := json.Marshal(o)
	req := wire.Request{Action: action, Args: []string{string(b)}}
	switch action {
	case "cap-list":
		var l wire.CapList
		if done, err := f.Call(req, "", &l); done || err != nil {
			return err
		}
		fmt.Fprint(f.Out, FormatCaps(l.Caps))
	case "cap-revoke":
		var c wire.CapInfo
		if done, err := f.Call(req, "", &c); done || err != nil {
			return err
		}
		f.Say("Revoked %s (and %d derived).", c.Ref, c.Derived)
	default:
		var c wire.CapInfo
		if done, err := f.Call(req, o.Service, &c); done || err != nil {
			return err
		}
		f.Say("%s", c.Ref)
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

// parseSize reads a size such as 1048576, 512K, 20M or 1G ("" is 0).
func parseSize(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	switch s[len(s)-1] {
	case 'K', 'k':
		mult = 1 << 10
	case 'M', 'm':
		mult = 1 << 20
	case 'G', 'g':
		mult = 1 << 30
	}
	num := s
	if mult > 1 {
		num = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, cmdutil.UsageError(fmt.Sprintf("--max-size: %q is not a size such as 20M", s))
	}
	return n * mult, nil
}
