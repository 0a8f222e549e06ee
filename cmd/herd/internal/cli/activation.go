package cli

import (
	"fmt"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// formatActivation adds the sockets of a socket-activated service to
// `herd status NAME` (docs/herd.md, "Socket activation").
func formatActivation(line func(format string, args ...any), a *wire.Activation) {
	if a == nil {
		return
	}
	for _, s := range a.Sockets {
		if a.Listening {
			line("Listening on: %s %s (%s)", s.Kind, s.Address, s.Name)
		} else {
			line("Will listen on: %s %s (%s)", s.Kind, s.Address, s.Name)
		}
	}
	switch {
	case a.Style == "inetd":
		line("Socket activation: inetd: %s (at most %d), %d served, %d refused.", plural(a.Connections, "connection"), a.MaxConnections, a.Served, a.Refused)
	case a.OnConnection && a.Waiting:
		line("Socket activation: systemd, started on connection: waiting for the first one.")
	case a.OnConnection:
		line("Socket activation: systemd, started on connection.")
	default:
		line("Socket activation: systemd (sockets passed as LISTEN_FDS).")
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
