package fleetcmd

import (
	"context"
	"fmt"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/spf13/cobra"
)

// sshOptions are the SSH flags of the commands that run on hosts (watch,
// recipe run).
type sshOptions struct {
	acceptNew  bool
	knownHosts string
	identities []string
	timeout    time.Duration
	fanout     int
}

func (o *sshOptions) flags(c *cobra.Command) {
	c.Flags().DurationVar(&o.timeout, "timeout", time.Minute, "per-host time limit")
	c.Flags().IntVar(&o.fanout, "fanout", 0, fmt.Sprintf("hosts run at once (default %d, or %d when any host is reached over SSH)", ShepherdFanout, SSHFanout))
	c.Flags().BoolVar(&o.acceptNew, "accept-new", false, "ssh: trust and record the key of a host not in known_hosts")
	c.Flags().StringVar(&o.knownHosts, "known-hosts", "", "ssh: the known_hosts file (default ~/.ssh/known_hosts)")
	c.Flags().StringArrayVar(&o.identities, "identity", nil, "ssh: a private key file (default: the agent, ~/.ssh/config's IdentityFile and ~/.ssh/id_*)")
}

// transport is how to run a command on any of hosts: SSH for ssh://
// hosts, the local daemon for the others. Call the close func when done.
func (o *sshOptions) transport(f *cmdutil.Factory, hosts []*fleet.Host) (fleet.Exec, func(), error) {
	var sshExec *fleet.SSH
	for _, h := range hosts {
		if h.SSH != nil && sshExec == nil {
			var err error
			if sshExec, err = fleet.NewSSH(fleet.SSHConfig{KnownHosts: o.knownHosts, AcceptNew: o.acceptNew, Identities: o.identities}); err != nil {
				return nil, nil, f.Fail(err.Error())
			}
		}
	}
	viaShepherd := fleet.ShepherdExec(f.Socket)
	execOn := func(ctx context.Context, h *fleet.Host, argv []string, timeout time.Duration) fleet.Result {
		if h.SSH != nil {
			return sshExec.Exec(ctx, h, argv, timeout)
		}
		return viaShepherd(ctx, h, argv, timeout)
	}
	closeFn := func() {
		if sshExec != nil {
			sshExec.Close()
		}
	}
	return execOn, closeFn, nil
}

// Default fan-outs (docs/scale.md). Shepherd hosts all go on one
// connection to the local daemon, which keeps a libp2p connection and a
// control stream per host: 256 at once keep two cores busy with 1000
// hosts (64 left them waiting); the daemon sets up 64 connections at
// once whatever the fan-out (a cold run). SSH sessions are handshakes
// and sessions of their own, and sshd refuses many at once.
const (
	ShepherdFanout = 256
	SSHFanout      = 64
)

// fanoutFor is the fan-out asked for (--fanout), or else the default
// for hosts.
func (o *sshOptions) fanoutFor(hosts []*fleet.Host) int {
	if o.fanout > 0 {
		return o.fanout
	}
	for _, h := range hosts {
		if h.SSH != nil {
			return SSHFanout
		}
	}
	return ShepherdFanout
}
