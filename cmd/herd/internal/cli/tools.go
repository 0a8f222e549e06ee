package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/internal/version"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// ToolsProgram is the program that runs the commands herd leaves to it.
const ToolsProgram = "herd-tools"

// ToolsCallerEnv carries herd's version to herd-tools, which refuses to
// run for another version (a herd-tools left from another build, found in
// $PATH).
const ToolsCallerEnv = "HERD_TOOLS_CALLER"

// ToolsCommands are the commands herd leaves to herd-tools: those that
// read configuration files or reach other hosts themselves, and so link a
// YAML parser, x/crypto/ssh and the importers, whose start-up every other
// command would pay (docs/design-notes.md, "herd's start-up"). herd lists
// them and runs herd-tools in its place, with the same arguments.
var ToolsCommands = []struct{ Name, Short string }{
	{"hosts", "The inventory's hosts a selector picks"},
	{"fleet", "Run commands on many hosts, copy files to and from them"},
	{"recipe", "Named, parameterized multi-step fleet runs"},
	{"config", "Check configuration files"},
	{"import", "Translate a GNU Shepherd, supervisord or systemd configuration into shepherd's"},
}

// addToolsStubs adds to root a command per ToolsCommands entry that runs
// herd-tools with args, herd's own arguments, whatever follows: its
// flags, its help (`herd fleet --help`) and its completions (`herd
// __complete fleet exec --in ...`) are herd-tools'.
func addToolsStubs(f *cmdutil.Factory, root *cobra.Command, args []string) {
	for _, t := range ToolsCommands {
		run := func() error { return execTools(f, args) }
		root.AddCommand(&cobra.Command{
			Use:                t.Name,
			Short:              t.Short,
			DisableFlagParsing: true,
			// Not the root's: it would read --cap-file (not parsed here)
			// and hold -q's output; herd-tools does both.
			PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
			RunE:              func(*cobra.Command, []string) error { return run() },
			ValidArgsFunction: func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
				run()
				return nil, cobra.ShellCompDirectiveError
			},
		})
	}
}

// execTools replaces herd with herd-tools, run with args. It returns only
// if it cannot, with the error to print.
func execTools(f *cmdutil.Factory, args []string) error {
	f.JSON = f.JSON || cmdutil.WantsJSON(args) // its flags are not parsed
	path, err := findTools()
	if err != nil {
		return f.Fail(err.Error())
	}
	env := append(os.Environ(), ToolsCallerEnv+"="+build())
	err = syscall.Exec(path, append([]string{path}, args...), env)
	return f.Fail(fmt.Sprintf("run %s: %v", path, err))
}

// findTools finds herd-tools beside herd's own executable (symbolic
// links followed: where it was installed), then in $PATH.
func findTools() (string, error) {
	self, err := os.Executable()
	if err == nil {
		if real, err := filepath.EvalSymlinks(self); err == nil {
			self = real
		}
		if p := filepath.Join(filepath.Dir(self), ToolsProgram); isExecutable(p) {
			return p, nil
		}
	}
	// $PATH's absolute directories alone (as os/exec's LookPath, which
	// refuses a program found through "." or an empty entry: one that
	// whoever owns the working directory put there). Not os/exec itself:
	// herd starts no process it would have to wait for (internal/proc's
	// lint).
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if !filepath.IsAbs(dir) {
			continue
		}
		if p := filepath.Join(dir, ToolsProgram); isExecutable(p) {
			return p, nil
		}
	}
	where := "beside herd"
	if self != "" {
		where = "in " + filepath.Dir(self)
	}
	return "", fmt.Errorf("%s runs this command, and it is neither %s nor in $PATH: install it with herd (make install, or go install ./cmd/herd/herd-tools)", ToolsProgram, where)
}

// isExecutable says whether path is a regular file that may be run.
func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && unix.Access(path, unix.X_OK) == nil
}

// CheckToolsCaller says why herd-tools must not run for the herd that
// ran it: another version, so another protocol and other commands.
func CheckToolsCaller() error {
	caller, ok := os.LookupEnv(ToolsCallerEnv)
	if !ok {
		return nil
	}
	os.Unsetenv(ToolsCallerEnv) // not passed on to what it runs
	if own := build(); caller != own {
		return fmt.Errorf("this %s is %s, but herd is %s: install both from the same build (make install)", ToolsProgram, own, caller)
	}
	return nil
}

// build names the build: its version and commit.
func build() string {
	v := version.Get()
	s := v.Version + " (commit " + v.Commit
	if v.Modified {
		s += ", modified"
	}
	return s + ")"
}
