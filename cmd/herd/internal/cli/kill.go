package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// newCmdKill builds `herd kill SERVICE... [-s SIGNAL] [--kill-whom
// main|all]`, systemctl kill's semantics: SIGTERM by default, to every
// process of the service (its cgroup) by default. The daemon signals
// through pidfds only (actors/service/kill.go).
func newCmdKill(f *cmdutil.Factory) *cobra.Command {
	var signal, whom string
	cmd := &cobra.Command{
		Use:   "kill SERVICE... [-s SIGNAL] [--kill-whom main|all]",
		Short: "Send a signal to a service's processes (all of them, or --kill-whom main)",
		Args:  needServices,
		RunE: func(cmd *cobra.Command, args []string) error {
			sig, err := services.ParseSignal(signal)
			if err != nil {
				return cmdutil.UsageError(err.Error())
			}
			if whom != services.KillMain && whom != services.KillAll {
				return cmdutil.UsageError(fmt.Sprintf("--kill-whom: main or all, not %q", whom))
			}
			name := unix.SignalName(sig)
			if name == "" {
				name = strconv.Itoa(int(sig))
			}
			return cmdutil.EachService(f, args, cmdutil.EachOpts{Key: "result"}, func(g *cmdutil.Factory, i int) error {
				var res wire.KillResult
				req := wire.Request{Action: "kill", Service: args[i], Args: []string{name, whom}}
				if done, err := g.Call(req, args[i], &res); done || err != nil {
					return err
				}
				g.Say("Sent %s to service %s (%s).", res.Signal, res.Service, pidList(res.PIDs))
				return nil
			})
		},
	}
	// -s is the socket before the verb; after `kill` it is the signal, as
	// in kill(1) and systemctl (killSignalShorthand).
	cmd.Flags().StringVar(&signal, "signal", "SIGTERM", "the signal: a name (HUP, SIGHUP) or a number; -s after kill")
	cmd.Flags().StringVar(&whom, "kill-whom", services.KillAll, "main: the main process alone; all: every process of the service")
	return cmd
}

func pidList(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	if len(pids) == 1 {
		return "PID " + s[0]
	}
	return "PIDs " + strings.Join(s, " ")
}

// killSignalShorthand rewrites the -s that follows the verb kill into
// --signal: before the verb, -s is the socket (`herd -s SOCK kill web -s
// HUP`).
func killSignalShorthand(args []string) []string {
	verb := -1
	for i := 0; i < len(args) && verb < 0; i++ {
		switch a := args[i]; {
		case a == "--":
			return args
		case a == "-s" || a == "--socket" || a == "--cap" || a == "--cap-file":
			i++
		case !strings.HasPrefix(a, "-"):
			if a != "kill" {
				return args
			}
			verb = i
		}
	}
	if verb < 0 {
		return args
	}
	out := append([]string{}, args[:verb+1]...)
	for i := verb + 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...)
		case a == "-s":
			out = append(out, "--signal")
		case strings.HasPrefix(a, "-s") && !strings.HasPrefix(a, "--"):
			out = append(out, "--signal="+strings.TrimPrefix(strings.TrimPrefix(a, "-s"), "="))
		default:
			out = append(out, a)
		}
	}
	return out
}
