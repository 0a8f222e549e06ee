package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/completion"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/factscmd"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/jobscmd"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/notifycmd"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/timercmd"
	"github.com/shepherd-go/shepherd/internal/version"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

// Main runs herd with args and returns its exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := &cmdutil.Factory{
		In: stdin, Out: stdout, Err: stderr, Now: time.Now,
		Connect: func(ctx context.Context, socket string) (cmdutil.Client, error) { return local.Dial(ctx, socket) },
	}
	return Run(f, args)
}

// Run is Main with an explicit Factory, for tests.
func Run(f *cmdutil.Factory, args []string) int {
	return RunTree(f, args, func(f *cmdutil.Factory) *cobra.Command {
		if b, ok := builtinFor(args); ok {
			// herd's own command, named: the tree holds it alone.
			root := newRoot(f)
			root.AddCommand(b.build(f))
			root.CompletionOptions.DisableDefaultCmd = true // not named
			return root
		}
		root := NewRootCmd(f)
		addToolsStubs(f, root, args)
		completion.Add(root, f, nil)
		return root
	})
}

// RunTree runs the command tree that build makes (herd's, or
// herd-tools') with args, and returns the exit code.
func RunTree(f *cmdutil.Factory, args []string, build func(*cmdutil.Factory) *cobra.Command) int {
	f.GuardTerminals()
	root := build(f)
	root.SetArgs(RouteCustomAction(root, killSignalShorthand(args)))
	cmd, err := root.ExecuteC()
	code := exitCode(f, err, args)
	releaseQuiet(f, cmd, code)
	return code
}

// exitCode is the exit code of a command's error, which it prints if the
// command did not (args: herd's, for --json before it was parsed).
func exitCode(f *cmdutil.Factory, err error, args []string) int {
	var fl cmdutil.Failure
	switch {
	case err == nil:
		return cmdutil.ExitOK
	case errors.As(err, &fl):
		return fl.Code
	default:
		// cobra's "unknown command" ends with its suggestions and a
		// newline.
		err = errors.New(strings.TrimRight(err.Error(), "\n"))
		code := f.ReportUsage(err, args)
		if strings.HasPrefix(err.Error(), "unknown command ") && !f.JSON && !cmdutil.WantsJSON(args) {
			fmt.Fprintln(f.Err, "Run 'herd --help' for the commands.")
		}
		return code
	}
}

// builtin is one of herd's own commands, built when it is needed: a
// command line that names one needs it alone, and building the forty
// others (their flags, their defaults' texts) was a tenth of herd's
// start-up.
type builtin struct {
	name  string
	build func(*cmdutil.Factory) *cobra.Command
}

func lifecycleVerb(action, short string) builtin {
	return builtin{action, func(f *cmdutil.Factory) *cobra.Command { return newCmdLifecycle(f, action, short) }}
}

func rootVerb(action, short string) builtin {
	return builtin{action, func(f *cmdutil.Factory) *cobra.Command { return newCmdRootAction(f, action, short) }}
}

// builtins are herd's own commands, in the order of its help.
var builtins = []builtin{
	{"status", func(f *cmdutil.Factory) *cobra.Command { return forEachArg(f, newCmdStatus, "\n", "status") }},
	lifecycleVerb("start", "Start a service and its requirements"),
	lifecycleVerb("stop", "Stop a service after its dependents"),
	lifecycleVerb("restart", "Restart a service and the dependents that were running"),
	lifecycleVerb("enable", "Allow a service to be started and respawned"),
	lifecycleVerb("disable", "Forbid starting and respawning a service"),
	{"doc", newCmdDoc},
	{"log", newCmdLog},
	{"graph", newCmdGraph},
	{"load", newCmdLoad},
	{"unload", newCmdUnload},
	{"reload", newCmdReload},
	rootVerb("halt", "Stop every service, then halt (as PID 1) or exit"),
	rootVerb("power-off", "Stop every service, then power off (as PID 1) or exit"),
	rootVerb("reboot", "Stop every service, then reboot (as PID 1) or exit"),
	{"history", newCmdHistory},
	{"events", newCmdEvents},
	{"cap", newCmdCap},
	{"scale", newCmdScale},
	{"upgrade", newCmdUpgrade},
	{"id", newCmdID},
	{"peers", newCmdPeers},
	{"action", newCmdAction},
	{"kill", newCmdKill},
	{"spawn", newCmdSpawn},
	{"notify", notifycmd.NewCmdNotify},
	{"incidents", notifycmd.NewCmdIncidents},
	{"run", jobscmd.NewCmdRun},
	{"jobs", jobscmd.NewCmdJobs},
	{"timers", timercmd.NewCmdTimers},
	{"trigger", timercmd.NewCmdTrigger},
	{"schedule", timercmd.NewCmdSchedule},
	{"facts", factscmd.NewCmdFacts},
	{"monitors", factscmd.NewCmdMonitors},
	{"query", factscmd.NewCmdQuery},
	{"collect", factscmd.NewCmdCollect},
}

func init() {
	for _, v := range isVerbs {
		builtins = append(builtins, builtin{v.name, func(f *cmdutil.Factory) *cobra.Command { return newCmdIs(f, v) }})
	}
}

// builtinFor is the built-in command args name as their verb (the first
// word that is no flag), if they name one; not for the words that need the
// whole tree: help, completion, cobra's __complete, and none.
func builtinFor(args []string) (builtin, bool) {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			return builtin{}, false
		case a == "-s" || a == "--socket" || a == "--cap" || a == "--cap-file":
			i++ // the flag's value
		case strings.HasPrefix(a, "-"):
		default:
			for _, b := range builtins {
				if b.name == a {
					return b, true
				}
			}
			return builtin{}, false
		}
	}
	return builtin{}, false
}

// newRoot is herd's root command: its global flags, and --version.
func newRoot(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "herd [-s SOCKET] [--json] [--cap STURDYREF] ACTION [SERVICE [ARG...]]",
		Short:         "Control the shepherd service manager",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVarP(&f.Socket, "socket", "s", defaultSocket(), "the daemon's control socket")
	root.PersistentFlags().BoolVar(&f.JSON, "json", false, "print one JSON document instead of text")
	root.PersistentFlags().BoolVarP(&f.Quiet, "quiet", "q", false, "print nothing unless the command fails; is-active, is-failed, is-enabled: nothing at all")
	root.PersistentFlags().StringVar(&f.Cap, "cap", "", "present this capability (sturdyref) for the request (visible in ps: prefer --cap-file or $HERD_CAP)")
	root.PersistentFlags().StringVar(&f.CapFile, "cap-file", "", "present the capability (sturdyref) in FILE, or on stdin for -")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		holdQuiet(f)
		return f.ResolveCap()
	}
	root.SetOut(f.Out)
	root.SetErr(f.Err)
	// --version: version, commit and Go version (no -v: cobra's default
	// shorthand). Not cobra's Version, whose template it compiles at
	// every start.
	showVersion := root.Flags().Bool("version", false, "print the version, commit and Go version")
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if *showVersion {
			fmt.Fprint(f.Out, version.Get().Text("herd"))
			return nil
		}
		return cmd.Help()
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return err })
	return root
}

// NewRootCmd builds the command tree of herd's own commands: neither
// those of herd-tools (ToolsCommands) nor the completions
// (completion.Add), which the caller adds.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	root := newRoot(f)
	for _, b := range builtins {
		root.AddCommand(b.build(f))
	}
	// cobra adds `completion` when it executes: now, so that it is a
	// command when custom actions are routed.
	root.InitDefaultCompletionCmd()
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

// RouteCustomAction turns `herd ACTION SERVICE ARGS` for an ACTION that is
// not a built-in command into `herd action ACTION SERVICE ARGS`. A word
// with no service after it is no custom action (they all act on a
// service): it is left to cobra, whose error names it as an unknown
// command and suggests the commands it is close to (`herd statsu`).
func RouteCustomAction(root *cobra.Command, args []string) []string {
	if len(args) > 0 && completion.IsRequest(args[0]) {
		// The shell asks to complete a command line: routed as it
		// will be when it runs, so that `herd rotate <TAB>` completes
		// the action's services.
		return append([]string{args[0]}, RouteCustomAction(root, killSignalShorthand(args[1:]))...)
	}
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
			if a == "help" || !hasOperand(args[i+1:]) {
				return args
			}
			out := append([]string{}, args[:i]...)
			out = append(out, "action")
			return append(out, args[i:]...)
		}
	}
	return args
}

// hasOperand says whether args, what follows a verb, name something
// other than flags: the service of a custom action.
func hasOperand(args []string) bool {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-s" || a == "--socket" || a == "--cap" || a == "--cap-file":
			i++ // the global flag's value
		case a == "--" || !strings.HasPrefix(a, "-"):
			return true
		}
	}
	return false
}

// newCmdRootAction builds halt, power-off and reboot: actions of the root
// service.
func newCmdRootAction(f *cmdutil.Factory, action, short string) *cobra.Command {
	return &cobra.Command{
		Use:   action,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return lifecycle(f, action, wire.RootService)
		},
	}
}

func newCmdScale(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "scale SERVICE N",
		Short: "Run N instances of a service with instances, starting or stopping the difference",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res wire.ActionResult
			if done, err := f.Call(wire.Request{Action: "scale", Service: args[0], Args: args[1:]}, args[0], &res); done || err != nil {
				return err
			}
			f.Say("Scaled service %s to %s instances.", res.Service, args[1])
			return nil
		},
	}
}
