// Package shepherdcli is the command line of the shepherd daemon: flags,
// default paths and signal wiring around daemon.Start.
package shepherdcli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/daemon"
	"github.com/shepherd-go/shepherd/httpapi"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/internal/version"
	"github.com/shepherd-go/shepherd/services"
	flag "github.com/spf13/pflag"
	"golang.org/x/sys/unix"
)

// Exit codes of shepherd.
const (
	exitOK    = 0
	exitError = 1 // invalid configuration, socket or state problems
	exitUsage = 2
)

// Main runs the daemon with args (without the program name) and returns
// its exit code. --help and --version print on stdout; everything else,
// the daemon log included unless --logfile says otherwise, on stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	root := os.Geteuid() == 0
	fs, f := newFlags(defaultPaths(root))
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(stdout, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "shepherd: %v\nTry 'shepherd --help' for the options.\n", err)
		return exitUsage
	}
	if *f.version {
		fmt.Fprint(stdout, version.Get().Text("shepherd"))
		return exitOK
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "shepherd: unexpected argument %q: shepherd takes only options (the services are in the file of -c)\nTry 'shepherd --help' for the options.\n", fs.Arg(0))
		return exitUsage
	}
	opts := daemon.Options{
		ConfigPath: *f.config, SocketPath: *f.socket, StateDir: *f.state, PIDFile: *f.pidFile,
		Insecure: *f.insecure, SocketGroup: -1, Listen: *f.listen, Cgroup: *f.cgroupDir, NoCgroup: *f.noCgroup,
		SyslogSocket: *f.syslogSocket,
		HTTP:         httpapi.Options{Addr: *f.httpAddr, CertFile: *f.httpCert, KeyFile: *f.httpKey},
	}
	if err := opts.HTTP.Check(); err != nil {
		fmt.Fprintf(stderr, "shepherd: %v\nTry 'shepherd --help' for the options.\n", err)
		return exitUsage
	}
	if *f.pskFile != "" {
		psk, err := readPSK(*f.pskFile)
		if err != nil {
			fmt.Fprintf(stderr, "shepherd: --private-network: %v\n", err)
			return exitUsage
		}
		opts.PSK = psk
	}
	if opts.ConfigPath == "" {
		opts.ConfigPath = defaultConfig(root)
		if _, err := os.Stat(opts.ConfigPath); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "shepherd: %s does not exist; starting with no services\n", opts.ConfigPath)
			opts.ConfigPath = ""
		}
	}
	if opts.SocketPath == "" {
		opts.SocketPath = defaultSocket(root)
	}
	if opts.StateDir == "" {
		opts.StateDir = defaultState(root)
	}
	if *f.socketMode != "" {
		m, err := strconv.ParseUint(*f.socketMode, 8, 32)
		if err != nil || m > 0o777 {
			fmt.Fprintf(stderr, "shepherd: --socket-mode: bad mode %q (want octal, e.g. 0660)\n", *f.socketMode)
			return exitUsage
		}
		opts.SocketMode = os.FileMode(m)
	}
	if *f.socketGroup != "" {
		gid, err := lookupGroup(*f.socketGroup)
		if err != nil {
			fmt.Fprintf(stderr, "shepherd: --socket-group: %v\n", err)
			return exitUsage
		}
		opts.SocketGroup = gid
	}
	if *f.logFile != "" {
		f, err := proc.OpenLogFile(*f.logFile)
		if err != nil {
			fmt.Fprintf(stderr, "shepherd: %v\n", err)
			return exitError
		}
		defer f.Close()
		opts.Log = f
	} else {
		opts.Log = stderr
	}

	// Catch (never ignore: ignored signals survive exec into services) the
	// signals we act on, before anything is started.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	opts.PendingSignals = func() []syscall.Signal { return drainSignals(sigs) }
	d, err := daemon.Start(opts)
	if err != nil {
		var list services.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintln(stderr, e)
			}
			fmt.Fprintf(stderr, "shepherd: invalid configuration: %d error(s); nothing was started\n", len(list))
		} else {
			fmt.Fprintf(stderr, "shepherd: %v\n", err)
		}
		return exitError
	}
	// systemd's Type=notify: herd can talk to us now.
	if err := sdNotify("READY=1"); err != nil {
		fmt.Fprintf(opts.Log, "shepherd: %v\n", err)
	}
	// Signals that came during the re-exec that started us (if it did).
	for _, s := range d.InheritedSignals() {
		syscall.Kill(os.Getpid(), s)
	}
	kind := daemon.ExitStop
wait:
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				// herd-cli.md: SIGHUP re-reads the configuration, then
				// re-executes the binary; an invalid configuration changes
				// nothing. A re-exec that succeeds does not return.
				if _, err := d.Reload(); err != nil {
					fmt.Fprintf(opts.Log, "shepherd: SIGHUP: %v\n", err)
				} else if *f.reexec {
					if err := d.Reexec("signal SIGHUP", nil); err != nil {
						fmt.Fprintf(opts.Log, "shepherd: SIGHUP: %v\n", err)
					}
				}
				continue
			}
			break wait
		case kind = <-d.ExitRequested():
			break wait
		}
	}
	if err := sdNotify("STOPPING=1"); err != nil {
		fmt.Fprintf(opts.Log, "shepherd: %v\n", err)
	}
	d.Shutdown()
	if os.Getpid() == 1 && kind != daemon.ExitStop {
		// As PID 1 the machine (or the PID namespace) ends with us.
		cmd := map[daemon.ExitKind]int{
			daemon.ExitHalt: unix.LINUX_REBOOT_CMD_HALT, daemon.ExitPowerOff: unix.LINUX_REBOOT_CMD_POWER_OFF,
			daemon.ExitReboot: unix.LINUX_REBOOT_CMD_RESTART,
		}[kind]
		unix.Sync()
		if err := unix.Reboot(cmd); err != nil {
			fmt.Fprintf(stderr, "shepherd: %s: %v\n", kind, err)
			return exitError
		}
	}
	return exitOK
}

func defaultConfig(root bool) string {
	if root {
		return "/etc/shepherd/services.yaml"
	}
	return filepath.Join(xdg("XDG_CONFIG_HOME", ".config"), "shepherd", "services.yaml")
}

func defaultSocket(root bool) string {
	if root {
		return "/var/run/shepherd/socket"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "shepherd", "socket")
	}
	return filepath.Join("/run/user", strconv.Itoa(os.Getuid()), "shepherd", "socket")
}

func defaultState(root bool) string {
	if root {
		return "/var/lib/shepherd"
	}
	return filepath.Join(xdg("XDG_STATE_HOME", ".local/state"), "shepherd")
}

func xdg(env, fallback string) string {
	if d := os.Getenv(env); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, fallback)
}

// drainSignals returns the signals received so far, including those the Go
// runtime has caught but not yet put on sigs: it raises SIGWINCH (numbered
// above the daemon's signals, so the runtime passes it on after any of
// them caught before it) and takes everything up to its arrival.
func drainSignals(sigs <-chan os.Signal) []syscall.Signal {
	mark := make(chan os.Signal, 1)
	signal.Notify(mark, syscall.SIGWINCH)
	defer signal.Stop(mark)
	var out []syscall.Signal
	syscall.Kill(os.Getpid(), syscall.SIGWINCH)
	timeout := time.After(time.Second)
	for {
		select {
		case s := <-sigs:
			out = append(out, s.(syscall.Signal))
			continue
		case <-mark:
		case <-timeout:
		}
		break
	}
	for {
		select {
		case s := <-sigs:
			out = append(out, s.(syscall.Signal))
		default:
			return out
		}
	}
}

// readPSK reads a private-network key: 64 hex digits (blank space ignored).
func readPSK(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.Join(strings.Fields(string(b)), ""))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s: want 64 hex digits (a 32-byte key), e.g. from: head -c32 /dev/urandom | xxd -p -c64", path)
	}
	return key, nil
}
