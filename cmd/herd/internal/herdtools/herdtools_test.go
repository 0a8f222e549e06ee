package herdtools

import (
	"testing"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cli"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
)

// TestToolsCommands: herd lists the commands herd-tools runs as
// herd-tools has them, every one of them.
func TestToolsCommands(t *testing.T) {
	cmds := Commands(&cmdutil.Factory{})
	if len(cmds) != len(cli.ToolsCommands) {
		t.Fatalf("herd-tools has %d commands, cli.ToolsCommands %d", len(cmds), len(cli.ToolsCommands))
	}
	for i, c := range cmds {
		if stub := cli.ToolsCommands[i]; c.Name() != stub.Name || c.Short != stub.Short {
			t.Errorf("herd-tools' %q (%q) is listed by herd as %q (%q)", c.Name(), c.Short, stub.Name, stub.Short)
		}
	}
}
