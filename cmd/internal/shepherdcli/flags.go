package shepherdcli

import (
	"fmt"
	"io"

	flag "github.com/spf13/pflag"
)

// flags are the daemon's command line options.
type flags struct {
	config, socket, logFile, pidFile, state *string
	insecure                                *bool
	listen                                  *[]string
	pskFile, socketGroup, socketMode        *string
	cgroupDir, syslogSocket                 *string
	httpAddr, httpCert, httpKey             *string
	noCgroup, reexec, version               *bool
}

// paths are the defaults the help names: this user's, or, for the
// manual page, both root's and a user's.
type paths struct{ config, socket, state string }

func defaultPaths(root bool) paths {
	return paths{defaultConfig(root), defaultSocket(root), defaultState(root)}
}

// newFlags defines the options; d is only what the help says.
func newFlags(d paths) (*flag.FlagSet, *flags) {
	fs := flag.NewFlagSet("shepherd", flag.ContinueOnError)
	fs.SortFlags = false
	return fs, &flags{
		config:       fs.StringP("config", "c", "", "services file or directory (default "+d.config+")"),
		socket:       fs.StringP("socket", "s", "", "control socket (default "+d.socket+")"),
		logFile:      fs.StringP("logfile", "l", "", "daemon log file (default: standard error)"),
		pidFile:      fs.String("pid", "", "write the PID here once the socket listens"),
		state:        fs.String("state", "", "state directory: logs, history (default "+d.state+")"),
		insecure:     fs.BoolP("insecure", "I", false, "do not check that the socket directory is ours with mode 0700, nor that the state directory is ours and closed to others"),
		listen:       fs.StringSlice("listen", nil, "libp2p listen multiaddr(s), e.g. /ip4/0.0.0.0/tcp/4001 (default: no network)"),
		pskFile:      fs.String("private-network", "", "file holding a 32-byte key (64 hex digits): only daemons with it connect (TCP only)"),
		socketGroup:  fs.String("socket-group", "", "group allowed to connect to the socket"),
		socketMode:   fs.String("socket-mode", "", "mode of the socket file, e.g. 0660"),
		cgroupDir:    fs.String("cgroup", "", "root cgroup of the services (a cgroup2 directory; default: shepherd-UID-HASH under the daemon's own cgroup)"),
		noCgroup:     fs.Bool("no-cgroup", false, "do not use cgroups: track services by process group, session and orphans"),
		syslogSocket: fs.String("syslog-socket", "/dev/log", "the system log's socket, for services with log: syslog or both"),
		httpAddr:     fs.String("http", "", "serve the HTTP API on HOST:PORT (loopback only unless TLS; default: none; see docs/http.md)"),
		httpCert:     fs.String("http-tls-cert", "", "PEM certificate of the HTTP API: it then serves TLS only, and may listen beyond loopback"),
		httpKey:      fs.String("http-tls-key", "", "PEM private key of --http-tls-cert"),
		reexec:       fs.Bool("reexec", true, "on SIGHUP, re-execute the binary in place after reloading the configuration"),
		version:      fs.Bool("version", false, "print the version, commit and Go version, and exit"),
	}
}

// Short and Long describe the daemon for its usage and manual page (in
// Markdown, which the manual page generator turns into roff).
const (
	Short = "the shepherd service manager daemon"
	Long  = `shepherd supervises the services of its configuration file: it starts
them in the order of their requirements, respawns them, keeps their output
in log files and every state change in a history, and serves herd(1) on a
unix socket. Run as root it manages the machine's services (under systemd,
from shepherd.service; or as PID 1); run as a user, that user's.

Without options, root's daemon reads /etc/shepherd/services.yaml and
listens on /var/run/shepherd/socket; a user's reads
$XDG_CONFIG_HOME/shepherd/services.yaml and listens on
$XDG_RUNTIME_DIR/shepherd/socket. A missing configuration file is not an
error: the daemon starts with no services, and herd load adds some.

SIGTERM and SIGINT stop every service, dependents first, and end the
daemon. SIGHUP reloads the configuration (as herd reload), then
re-executes the binary in place (as herd upgrade): the services keep their
processes. Started by systemd with Type=notify ($NOTIFY_SOCKET set), the
daemon says READY=1 once its socket listens and its services are loaded,
and STOPPING=1 when it begins to stop them.

Exit status: 0 after a stop; 1 for an invalid configuration (every error
is printed; nothing was started), a problem with the socket or the state
directory, or another daemon on either; 2 for bad options.`
)

// FlagSet is the daemon's options with the defaults of root and of a
// user both named, for its manual page.
func FlagSet() *flag.FlagSet {
	fs, _ := newFlags(paths{
		config: "/etc/shepherd/services.yaml for root, $XDG_CONFIG_HOME/shepherd/services.yaml for a user",
		socket: "/var/run/shepherd/socket for root, $XDG_RUNTIME_DIR/shepherd/socket for a user",
		state:  "/var/lib/shepherd for root, $XDG_STATE_HOME/shepherd for a user",
	})
	return fs
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: shepherd [OPTION]...\nRun %s: supervise the services of the configuration file and serve herd on the socket.\n\nOptions:\n%s\nSIGTERM stops every service and exits; SIGHUP reloads the configuration and re-executes.\nSee shepherd(1) and herd(1).\n", Short, fs.FlagUsages())
}
