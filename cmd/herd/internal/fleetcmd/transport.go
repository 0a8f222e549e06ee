package fleetcmd

import (
	"context"
	"fmt"
	"strings"
	"sync"
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

// runOn runs a command on every host, each its own (argvOf: a recipe's
// step is rendered per host), as fleet exec does: direct hosts through
// execOn, at most fanout at a time, and the hosts behind a relay (via:)
// through it, one relayed call per relay and command line. Results come
// back in host order.
func runOn(ctx context.Context, socket string, hosts []*fleet.Host, argvOf func(*fleet.Host) []string, fanout int, timeout time.Duration, execOn fleet.Exec) []fleet.Result {
	var direct []*fleet.Host
	var lines []string
	behind := map[string][]*fleet.Host{}
	for _, h := range hosts {
		if h.Relay == nil {
			direct = append(direct, h)
			continue
		}
		k := strings.Join(argvOf(h), "\x00")
		if behind[k] == nil {
			lines = append(lines, k)
		}
		behind[k] = append(behind[k], h)
	}
	got := make(map[string]fleet.Result, len(hosts))
	var mu sync.Mutex
	keep := func(rs []fleet.Result) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			got[r.Host] = r
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		keep(fleet.Run(ctx, direct, nil, fanout, timeout, func(ctx context.Context, h *fleet.Host, _ []string, t time.Duration) fleet.Result {
			return execOn(ctx, h, argvOf(h), t)
		}, nil))
	})
	viaRelay := fleet.ShepherdRelayExec(socket)
	for _, k := range lines {
		hs := behind[k]
		wg.Go(func() { keep(fleet.RunVia(ctx, hs, argvOf(hs[0]), fanout, timeout, execOn, viaRelay, nil)) })
	}
	wg.Wait()
	out := make([]fleet.Result, len(hosts))
	for i, h := range hosts {
		out[i] = got[h.Name]
	}
	return out
}
