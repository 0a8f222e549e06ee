package completion

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// completionWait bounds a completion's question to the daemon: the shell
// waits for the answer at each TAB.
const completionWait = 500 * time.Millisecond

// IsRequest says whether the word is cobra's hidden command that shells
// call to complete a command line.
func IsRequest(word string) bool {
	return word == cobra.ShellCompRequestCmd || word == cobra.ShellCompNoDescRequestCmd
}

// serviceNames asks the daemon for its services' names (nil if it cannot
// be asked).
func serviceNames(f *cmdutil.Factory) []string {
	rep, err := f.QuietCall(wire.Request{Action: "status", Cap: f.Cap}, completionWait)
	var all wire.StatusAll
	if err != nil || json.Unmarshal(rep.Result, &all) != nil {
		return nil
	}
	names := make([]string, 0, len(all.Services))
	for _, s := range all.Services {
		names = append(names, s.Name)
	}
	return names
}

// actionNames asks the daemon for a service's custom actions.
func actionNames(f *cmdutil.Factory, service string) []string {
	rep, err := f.QuietCall(wire.Request{Action: "doc", Service: service, Cap: f.Cap}, completionWait)
	var doc wire.Doc
	if err != nil || json.Unmarshal(rep.Result, &doc) != nil {
		return nil
	}
	var names []string
	for _, a := range doc.Actions {
		names = append(names, a.Name)
	}
	return names
}

// matching are the words that start with prefix and are not in given.
func matching(words []string, prefix string, given []string) []cobra.Completion {
	var out []cobra.Completion
	for _, w := range words {
		if strings.HasPrefix(w, prefix) && !slices.Contains(given, w) {
			out = append(out, w)
		}
	}
	return out
}

// completeServices completes the first max arguments (-1: any number)
// with the daemon's services.
func completeServices(f *cmdutil.Factory, max int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if max >= 0 && len(args) >= max {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return matching(serviceNames(f), toComplete, args), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeDoc completes `doc SERVICE [list-actions | action ACTION]`.
func completeDoc(f *cmdutil.Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case len(args) == 0:
			return matching(serviceNames(f), toComplete, nil), cobra.ShellCompDirectiveNoFileComp
		case len(args) == 1:
			return matching([]string{"list-actions", "action"}, toComplete, nil), cobra.ShellCompDirectiveNoFileComp
		case len(args) == 2 && args[1] == "action":
			return matching(actionNames(f, args[0]), toComplete, nil), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeAction completes `herd ACTION SERVICE`, which is routed to the
// hidden action command: the services that have ACTION.
func completeAction(f *cmdutil.Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) != 1 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var have []string
		for _, s := range matching(serviceNames(f), toComplete, nil) {
			if slices.Contains(actionNames(f, s), args[0]) {
				have = append(have, s)
			}
		}
		return have, cobra.ShellCompDirectiveNoFileComp
	}
}

// InventoryWords gives the words a selector flag (host, in, tag) may
// take in the inventory at path: its hosts, groups or KEY=VALUE tags.
// herd-tools has it; herd, without the fleet's packages, does not.
type InventoryWords func(path, flag string) []string

// completeInventory completes a selector flag from the inventory the
// command's --inventory names.
func completeInventory(words InventoryWords, flag string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		path := ""
		if fl := cmd.Flags().Lookup("inventory"); fl != nil {
			path = fl.Value.String()
		}
		w := words(path, flag)
		slices.Sort(w)
		return matching(slices.Compact(w), toComplete, nil), cobra.ShellCompDirectiveNoFileComp
	}
}

// signalNames are the signals --signal suggests.
var signalNames = []string{"HUP", "INT", "QUIT", "KILL", "USR1", "USR2", "TERM", "CONT", "STOP", "WINCH"}

// Add gives herd's commands, under root, their completions; the shells
// call them through cobra's __complete. inventory may be nil.
func Add(root *cobra.Command, f *cmdutil.Factory, inventory InventoryWords) {
	fixed := func(words ...string) cobra.CompletionFunc {
		return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return matching(words, toComplete, nil), cobra.ShellCompDirectiveNoFileComp
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch c.CommandPath() {
		case "herd status", "herd start", "herd stop", "herd restart", "herd enable", "herd disable",
			"herd is-active", "herd is-failed", "herd is-enabled", "herd kill":
			c.ValidArgsFunction = completeServices(f, -1)
		case "herd log", "herd history", "herd unload", "herd scale", "herd reload", "herd cap grant", "herd trigger":
			c.ValidArgsFunction = completeServices(f, 1)
		case "herd doc":
			c.ValidArgsFunction = completeDoc(f)
		case "herd action":
			c.ValidArgsFunction = completeAction(f)
		case "herd events":
			c.RegisterFlagCompletionFunc("service", completeServices(f, -1))
		case "herd schedule":
			c.RegisterFlagCompletionFunc("name", fixed())
			c.RegisterFlagCompletionFunc("user", fixed())
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) == 0 {
					return matching([]string{"at", "in"}, toComplete, nil), cobra.ShellCompDirectiveNoFileComp
				}
				return nil, cobra.ShellCompDirectiveDefault
			}
		case "herd spawn":
			// A new name, and a user of the machine's: no word to offer;
			// the command after -- completes as the shell's commands do.
			c.RegisterFlagCompletionFunc("name", fixed())
			c.RegisterFlagCompletionFunc("user", fixed())
			c.ValidArgsFunction = func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return nil, cobra.ShellCompDirectiveDefault
			}
		}
		if c.Name() == "kill" {
			c.RegisterFlagCompletionFunc("signal", fixed(signalNames...))
			c.RegisterFlagCompletionFunc("kill-whom", fixed("all", "main"))
		}
		for _, flag := range []string{"host", "exclude", "in", "tag"} {
			if inventory != nil && c.Flags().Lookup(flag) != nil && c.Flags().Lookup("inventory") != nil {
				c.RegisterFlagCompletionFunc(flag, completeInventory(inventory, flag))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
