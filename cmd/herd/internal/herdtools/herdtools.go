package herdtools

import (
	"context"
	"io"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cli"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/completion"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/fleetcmd"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/importcmd"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/spf13/cobra"
)

// Main runs herd-tools with args (herd's, as herd was given them) and
// returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := &cmdutil.Factory{
		In: stdin, Out: stdout, Err: stderr, Now: time.Now,
		Connect: func(ctx context.Context, socket string) (cmdutil.Client, error) { return local.Dial(ctx, socket) },
	}
	if err := cli.CheckToolsCaller(); err != nil {
		f.JSON = cmdutil.WantsJSON(args)
		f.Fail(err.Error())
		return cmdutil.ExitFailure
	}
	return cli.RunTree(f, args, NewRootCmd)
}

// Commands are the commands herd leaves to herd-tools
// (cli.ToolsCommands).
func Commands(f *cmdutil.Factory) []*cobra.Command {
	return []*cobra.Command{
		fleetcmd.NewCmdHosts(f),
		fleetcmd.NewCmdFleet(f),
		fleetcmd.NewCmdRecipe(f),
		newCmdConfig(f),
		importcmd.NewCmdImport(f),
	}
}

// NewRootCmd builds herd's whole command tree, completions included.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	root := cli.NewRootCmd(f)
	root.AddCommand(Commands(f)...)
	completion.Add(root, f, inventoryWords)
	return root
}

// inventoryWords completes the selector flags of fleet commands.
func inventoryWords(path, flag string) []string {
	inv, err := fleet.LoadInventory(path)
	if err != nil {
		return nil
	}
	var words []string
	for _, h := range inv.Hosts {
		switch flag {
		case "host", "exclude":
			words = append(words, h.Name)
		case "in":
			words = append(words, h.Groups...)
		case "tag":
			for k, v := range h.Tags {
				words = append(words, k+"="+v)
			}
			words = append(words, h.Labels...)
		}
	}
	return words
}
