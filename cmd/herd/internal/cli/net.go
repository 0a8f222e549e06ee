package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

func newCmdID(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "id",
		Short: "The daemon's peer ID and the addresses it listens on",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var id wire.NetID
			if done, err := f.Call(wire.Request{Action: "id"}, "", &id); done || err != nil {
				return err
			}
			fmt.Fprintf(f.Out, "Peer ID: %s\n", id.PeerID)
			if len(id.Listen) == 0 {
				fmt.Fprintln(f.Out, "Listening: nowhere on the network (start shepherd with --listen)")
			} else {
				fmt.Fprintln(f.Out, "Listening on:")
				for _, a := range id.Listen {
					fmt.Fprintf(f.Out, "  %s\n", a)
				}
			}
			fmt.Fprintf(f.Out, "Socket: %s\n", id.Socket)
			return nil
		},
	}
}

func newCmdPeers(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "peers",
		Short: "The daemons this one is connected to, with latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var ps wire.Peers
			if done, err := f.Call(wire.Request{Action: "peers"}, "", &ps); done || err != nil {
				return err
			}
			if len(ps.Peers) == 0 {
				fmt.Fprintln(f.Out, "No peers connected.")
				return nil
			}
			tw := tabwriter.NewWriter(f.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PEER\tLATENCY\tSTREAMS\tADDRESS")
			for _, p := range ps.Peers {
				lat := "-"
				if p.Latency > 0 {
					lat = time.Duration(p.Latency).Round(10 * time.Microsecond).String()
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", p.ID, lat, p.Streams, strings.Join(p.Addrs, " "))
			}
			return tw.Flush()
		},
	}
}
