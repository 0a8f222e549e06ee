package fleetcmd

import (
	"context"
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
	c.Flags().IntVar(&o.fanout, "fanout", 64, "hosts run at once")
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
