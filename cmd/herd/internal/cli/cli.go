package cli

import (
	"context"
	"encoding/json"
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

	"github.com/shepherd-go/shepherd/services/config"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// Exit codes of herd (herd-cli.md).
const (
	ExitOK      = 0
	ExitFailure = 1 // the action failed, the service or action is unknown, no daemon
	ExitUsage   = 2 // bad flags or arguments
)

// Client is the daemon connection herd needs; *local.Client is one.
type Client interface {
	Call(ctx context.Context, req wire.Request) (wire.Reply, error)
	Stream(ctx context.Context, req wire.Request, fn func(wire.Reply) error) error
	Close() error
}

// Factory holds what every command shares: IO streams, global flags, the
// way to reach the daemon and the clock.
type Factory struct {
	In       io.Reader
	Out, Err io.Writer
	// Connect dials the daemon at socket.
	Connect func(ctx context.Context, socket string) (Client, error)
	Now     func() time.Time
	// IsTerminal says whether Out or Err is a terminal, where control
	// characters are shown escaped (terminal.go). Nil: a TCGETS ioctl.
	IsTerminal func(io.Writer) bool
	// Accounts resolves the user and group names of `config validate`.
	// Nil: config.SystemAccounts{}, which in herd as `make build` builds
	// it (without cgo) reads /etc/passwd and /etc/group (docs/herd.md).
	Accounts config.Accounts

	Socket string
	JSON   bool
	// Cap is the capability presented (--cap, --cap-file or $HERD_CAP),
	// and capSocket, when set, the socket it is presented at.
	Cap       string
	capFile   string
	capSocket string
}

// failure is an error whose message was already printed; it only carries
// the exit code.
type failure struct{ code int }

func (f failure) Error() string { return "exit " + strconv.Itoa(f.code) }

// Main runs herd with args and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := &Factory{
		In: stdin, Out: stdout, Err: stderr, Now: time.Now,
		Connect: func(ctx context.Context, socket string) (Client, error) { return local.Dial(ctx, socket) },
	}
	return Run(f, args)
}

// Run is Main with an explicit Factory, for tests.
func Run(f *Factory, args []string) int {
	f.guardTerminals()
	root := NewRootCmd(f)
	root.SetArgs(routeCustomAction(root, args))
	err := root.Execute()
	var fl failure
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &fl):
		return fl.code
	default:
		fmt.Fprintf(f.Err, "herd: error: %v\n", err)
		return ExitUsage
	}
}

// NewRootCmd builds the command tree.
func NewRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "herd [-s SOCKET] [--json] [--cap STURDYREF] ACTION [SERVICE [ARG...]]",
		Short:         "Control the shepherd service manager",
		SilenceUsage:  true,
		SilenceErrors: true,
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
	}
	root.PersistentFlags().StringVarP(&f.Socket, "socket", "s", defaultSocket(), "the daemon's control socket")
	root.PersistentFlags().BoolVar(&f.JSON, "json", false, "print one JSON document instead of text")
	root.PersistentFlags().StringVar(&f.Cap, "cap", "", "present this capability (sturdyref) for the request (visible in ps: prefer --cap-file or $HERD_CAP)")
	root.PersistentFlags().StringVar(&f.capFile, "cap-file", "", "present the capability (sturdyref) in FILE, or on stdin for -")
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return f.resolveCap() }
	root.SetOut(f.Out)
	root.SetErr(f.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })
	root.AddCommand(
		newCmdStatus(f),
		newCmdLifecycle(f, "start", "Start a service and its requirements"),
		newCmdLifecycle(f, "stop", "Stop a service after its dependents"),
		newCmdLifecycle(f, "restart", "Restart a service and the dependents that were running"),
		newCmdLifecycle(f, "enable", "Allow a service to be started and respawned"),
		newCmdLifecycle(f, "disable", "Forbid starting and respawning a service"),
		newCmdDoc(f),
		newCmdLog(f),
		newCmdGraph(f),
		newCmdLoad(f),
		newCmdUnload(f),
		newCmdReload(f),
		newCmdRootAction(f, "halt", "Stop every service, then halt (as PID 1) or exit"),
		newCmdRootAction(f, "power-off", "Stop every service, then power off (as PID 1) or exit"),
		newCmdRootAction(f, "reboot", "Stop every service, then reboot (as PID 1) or exit"),
		newCmdHistory(f),
		newCmdEvents(f),
		newCmdCap(f),
		newCmdScale(f),
		newCmdUpgrade(f),
		newCmdID(f),
		newCmdPeers(f),
		newCmdHosts(f),
		newCmdFleet(f),
		newCmdConfig(f),
		newCmdAction(f),
	)
	return root
}

func defaultSocket() string {
	if os.Geteuid() == 0 {
		return "/var/run/shepherd/socket"
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "shepherd", "socket")
	}
	return filepath.Join("/run/user", strconv.Itoa(os.Getuid()), "shepherd", "socket")
}

// routeCustomAction turns `herd ACTION SERVICE ARGS` for an ACTION that is
// not a built-in command into `herd action ACTION SERVICE ARGS`.
func routeCustomAction(root *cobra.Command, args []string) []string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return args
		case a == "-s" || a == "--socket" || a == "--cap" || a == "--cap-file":
			i++ // skip the flag's value
		case strings.HasPrefix(a, "-"):
		default:
			if c, _, err := root.Find([]string{a}); err == nil && c != root {
				return args
			}
			if a == "help" {
				return args
			}
			out := append([]string{}, args[:i]...)
			out = append(out, "action")
			return append(out, args[i:]...)
		}
	}
	return args
}

// resolveCap reads the capability to present from --cap, --cap-file or
// $HERD_CAP (a sturdyref is a secret: on the command line, every user
// sees it in ps), and picks where to present it. A capability whose only
// address is a unix socket goes to that socket, as the caller: a daemon
// never dials a unix socket on someone's behalf. Any other goes to the
// local daemon, which serves its own or relays another's over libp2p.
func (f *Factory) resolveCap() error {
	switch {
	case f.capFile != "" && f.Cap != "":
		return usageError("--cap and --cap-file: present one capability")
	case f.capFile != "":
		text, err := readSecret(f.In, f.capFile)
		if err != nil {
			return usageError("--cap-file: " + err.Error())
		}
		f.Cap = text
	case f.Cap == "":
		f.Cap = strings.TrimSpace(os.Getenv("HERD_CAP"))
	}
	if f.Cap == "" {
		return nil
	}
	ref, err := capability.ParseSturdyref(f.Cap)
	if err != nil {
		return usageError("--cap: " + err.Error())
	}
	socket := ""
	for _, a := range ref.Addrs {
		path, ok := strings.CutPrefix(a, "/unix")
		if !ok {
			return nil // a network address: the local daemon relays
		}
		socket = path
	}
	f.capSocket = socket
	return nil
}

// readSecret reads a sturdyref from path, or from in for "-".
func readSecret(in io.Reader, path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		if in == nil {
			in = os.Stdin
		}
		b, err = io.ReadAll(io.LimitReader(in, 64<<10))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", err
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return text, nil
}

// refArg is a sturdyref given as an argument: the text itself, "-" for
// stdin, or @FILE (so that it need not show in ps).
func (f *Factory) refArg(arg string) (string, error) {
	if arg == "-" {
		return readSecret(f.In, "-")
	}
	if path, ok := strings.CutPrefix(arg, "@"); ok {
		return readSecret(f.In, path)
	}
	return arg, nil
}

// dial connects to the daemon a request goes to: the socket of the
// presented capability, if it names one alone, else -s.
func (f *Factory) dial(ctx context.Context) (Client, string, error) {
	socket := f.Socket
	if f.capSocket != "" {
		socket = f.capSocket
	}
	c, err := f.Connect(ctx, socket)
	return c, socket, err
}

// request sends req and returns the reply; a transport failure is printed
// and becomes an exit code.
func (f *Factory) request(req wire.Request) (wire.Reply, error) {
	req.Cap = f.Cap
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, socket, err := f.dial(ctx)
	if err != nil {
		return wire.Reply{}, f.fail(err.Error())
	}
	defer c.Close()
	rep, err := c.Call(ctx, req)
	if err != nil {
		return wire.Reply{}, f.fail(fmt.Sprintf("%s: %v", socket, err))
	}
	return rep, nil
}

// call sends req and decodes its result into v. It reports done when
// nothing is left to print: the reply was an error (printed, and err is
// the exit code) or --json printed the result.
func (f *Factory) call(req wire.Request, typed string, v any) (done bool, err error) {
	rep, err := f.request(req)
	if err != nil {
		return true, err
	}
	if !rep.OK {
		return true, f.replyError(rep.Error, typed)
	}
	return f.decode(rep, v)
}

// fail prints a herd error line and returns the failure exit code.
func (f *Factory) fail(msg string) error {
	fmt.Fprintf(f.Err, "herd: error: %s\n", msg)
	return failure{ExitFailure}
}

// decode unmarshals a successful reply's result; with --json it prints the
// result as is and reports printed=true.
func (f *Factory) decode(rep wire.Reply, v any) (printed bool, err error) {
	if f.JSON {
		f.printJSON(rep.Result)
		return true, nil
	}
	if err := json.Unmarshal(rep.Result, v); err != nil {
		return false, f.fail("malformed reply from the daemon: " + err.Error())
	}
	return false, nil
}

func (f *Factory) printJSON(raw json.RawMessage) {
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	f.Out.Write(raw)
	io.WriteString(f.Out, "\n")
}

// replyError prints a failed reply the way herd-cli.md says, and returns
// the exit code. typed is what the user typed to name the service.
func (f *Factory) replyError(e *wire.Error, typed string) error {
	if e == nil {
		e = &wire.Error{Kind: wire.BadRequest, Message: "the daemon sent an empty error"}
	}
	if f.JSON {
		b, _ := json.Marshal(map[string]any{"error": e})
		f.printJSON(b)
	}
	name := e.Service
	if name == "" {
		name = typed
	}
	switch e.Kind {
	case wire.ServiceNotFound:
		return f.fail(fmt.Sprintf("service '%s' could not be found", typed))
	case wire.ActionNotFound:
		return f.fail(fmt.Sprintf("service '%s' does not have an action '%s'", typed, e.Action))
	case wire.StartFailed:
		if e.Disabled {
			f.say("Service %s is currently disabled.", name)
			return failure{ExitFailure}
		}
		f.say("Service %s could not be started.", name)
		return f.fail("failed to start service " + name)
	case wire.DependencyFailed:
		// What did start (on other hosts, for a fleet) is said first.
		f.printSteps(e.Steps)
		f.say("Service %s depends on %s.", name, e.Dependency)
		if e.Reason != "" {
			return f.fail(fmt.Sprintf("failed to start service %s: %s: %s", name, e.Dependency, e.Reason))
		}
		return f.fail("failed to start service " + name)
	}
	return f.fail(e.Message)
}

// say prints a line of text output, unless --json is in force.
func (f *Factory) say(format string, args ...any) {
	if !f.JSON {
		fmt.Fprintf(f.Out, format+"\n", args...)
	}
}

// newCmdRootAction builds halt, power-off and reboot: actions of the root
// service.
func newCmdRootAction(f *Factory, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.lifecycle(action, wire.RootService)
		},
	}
}

func newCmdScale(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "scale SERVICE N",
		Short: "Run N instances of a service with instances, starting or stopping the difference",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res wire.ActionResult
			if done, err := f.call(wire.Request{Action: "scale", Service: args[0], Args: args[1:]}, args[0], &res); done || err != nil {
				return err
			}
			f.say("Scaled service %s to %s instances.", res.Service, args[1])
			return nil
		},
	}
}
