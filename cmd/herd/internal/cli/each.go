package cli

import (
	"fmt"
	"strings"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The documents that several services print (cmdutil.EachService), for
// the schemas (Documents).
type (
	// ActionResults: start, stop, restart, enable, disable of several
	// services.
	ActionResults struct {
		Results []ActionItem `json:"results"`
	}
	// ActionItem is one service's: its result, or its error.
	ActionItem struct {
		Service string             `json:"service"`
		Result  *wire.ActionResult `json:"result,omitempty"`
		Error   *wire.Error        `json:"error,omitempty"`
	}
	// StatusResults: status of several services.
	StatusResults struct {
		Results []StatusItem `json:"results"`
	}
	// StatusItem is one service's: its status, or its error.
	StatusItem struct {
		Service string       `json:"service"`
		Status  *wire.Status `json:"status,omitempty"`
		Error   *wire.Error  `json:"error,omitempty"`
	}
	// KillResults: kill of several services.
	KillResults struct {
		Results []KillItem `json:"results"`
	}
	// KillItem is one service's: the signal sent, or its error.
	KillItem struct {
		Service string           `json:"service"`
		Result  *wire.KillResult `json:"result,omitempty"`
		Error   *wire.Error      `json:"error,omitempty"`
	}
)

// forEachArg lets a command that takes one service, as build makes it,
// take several: each runs as its own command with the same flags, by
// cmdutil.EachService, its output separated from the next one's by sep, its
// --json document under key.
func forEachArg(f *cmdutil.Factory, build func(*cmdutil.Factory) *cobra.Command, sep, key string) *cobra.Command {
	cmd := build(f)
	one := cmd.RunE
	cmd.Use = strings.Replace(cmd.Use, "[SERVICE]", "[SERVICE...]", 1)
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) <= 1 {
			return one(c, args)
		}
		// The flags given, read once: cobra's LocalFlags builds a set.
		set := map[string]string{}
		c.LocalFlags().Visit(func(fl *pflag.Flag) { set[fl.Name] = fl.Value.String() })
		return cmdutil.EachService(f, args, cmdutil.EachOpts{Sep: sep, Key: key}, func(g *cmdutil.Factory, i int) error {
			sub := build(g)
			for name, v := range set {
				sub.Flags().Set(name, v)
			}
			return sub.RunE(sub, args[i:i+1])
		})
	}
	return cmd
}

// needServices is the Args of a command on one service or more.
func needServices(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		verb := cmd.Name()
		return cmdutil.UsageError(fmt.Sprintf("%s needs a service: herd %s SERVICE...", verb, verb))
	}
	return nil
}
