package cli

import (
	"fmt"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdGraph(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "graph",
		Short: "Print the service graph in Graphviz syntax",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var g wire.Graph
			if done, err := f.Call(wire.Request{Action: "graph"}, "", &g); done || err != nil {
				return err
			}
			fmt.Fprint(f.Out, FormatGraph(g))
			return nil
		},
	}
}

// FormatGraph renders the graph as GNU Shepherd's `herd graph` does.
func FormatGraph(g wire.Graph) string {
	out := "digraph \"Service Graph\" {\n"
	for _, n := range g.Nodes {
		shape := "box"
		if n.OneShot {
			shape = "circle"
		}
		color := "purple"
		switch {
		case n.Failing || n.State == wire.StateFailed:
			color = "red"
		case n.State == wire.StateRunning:
			color = "green"
		case n.State == wire.StateStarting || n.State == wire.StateStopping:
			color = "orange"
		}
		out += fmt.Sprintf("  %q [shape = %s, color = %s];\n", n.Name, shape, color)
	}
	for _, e := range g.Edges {
		out += fmt.Sprintf("  %q -> %q;\n", e[0], e[1])
	}
	return out + "}\n"
}
