// Command genman writes the manual pages of herd and shepherd, for `make
// man`: herd.1 and one page per herd command (herd-start.1,
// herd-cap-grant.1, ...) from the cobra commands themselves, and
// shepherd.1 from the daemon's options.
//
//	go run ./cmd/herd/internal/genman -o DIR -version V
//
// writes DIR/man1/*.1. The date is $SOURCE_DATE_EPOCH's, else today's.
// It lives apart from herd so that cobra's doc package and its Markdown
// renderer are never linked into herd, whose start-up every command pays.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/herdtools"
	"github.com/shepherd-go/shepherd/cmd/internal/shepherdcli"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

func main() {
	out := flag.String("o", "build/man", "output directory (pages go to DIR/man1)")
	ver := flag.String("version", "", "version named in the pages' footer")
	flag.Parse()
	if err := run(filepath.Join(*out, "man1"), *ver); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
}

func run(dir, ver string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	header := &doc.GenManHeader{Section: "1", Source: strings.TrimSpace("shepherd-go " + ver), Manual: "shepherd-go manual"}
	if err := doc.GenManTree(herdCommand(), header, dir); err != nil {
		return fmt.Errorf("herd: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "shepherd.1"))
	if err != nil {
		return err
	}
	if err := doc.GenMan(shepherdCommand(), header, f); err != nil {
		f.Close()
		return fmt.Errorf("shepherd: %w", err)
	}
	return f.Close()
}

// herdCommand is herd's command tree with defaults that do not depend on
// who builds the pages: the paths taken from the environment are named
// by their variables.
func herdCommand() *cobra.Command {
	os.Setenv("XDG_CONFIG_HOME", "$XDG_CONFIG_HOME")
	os.Setenv("XDG_RUNTIME_DIR", "$XDG_RUNTIME_DIR")
	os.Setenv("XDG_STATE_HOME", "$XDG_STATE_HOME")
	root := herdtools.NewRootCmd(&cmdutil.Factory{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard})
	root.DisableAutoGenTag = true
	root.Long = root.Short + `.

herd talks to the shepherd(1) daemon over its unix socket: it starts,
stops and inspects services, shows their logs and history, grants
capabilities, and runs commands across a fleet. Every command takes
--json, and exits 0 on success, 1 when the action failed (or the service,
the action or the daemon is unknown or unreachable) and 2 for bad usage.

An ACTION that is not one of the commands below is a custom action of the
service: herd reload web-server runs the reload action of web-server.

The documentation in /usr/share/doc/shepherd-go (docs/ in the source)
says more: herd.md for every command's output, config.md for the services
file.`
	var fix func(c *cobra.Command)
	fix = func(c *cobra.Command) {
		c.DisableAutoGenTag = true
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			if s := fs.Lookup("socket"); s != nil {
				s.DefValue = "$XDG_RUNTIME_DIR/shepherd/socket, or /var/run/shepherd/socket for root"
			}
		}
		for _, sub := range c.Commands() {
			fix(sub)
		}
	}
	fix(root)
	return root
}

// shepherdCommand describes the daemon, whose command line is not cobra's,
// as a cobra command, for doc.GenMan.
func shepherdCommand() *cobra.Command {
	c := &cobra.Command{
		Use:               "shepherd [OPTION]...",
		Short:             shepherdcli.Short,
		Long:              shepherdcli.Long + "\n\nSee also herd(1), and the documentation in /usr/share/doc/shepherd-go (docs/ in the source).",
		Run:               func(*cobra.Command, []string) {},
		DisableAutoGenTag: true,
		// The synopsis says [OPTION]... already.
		DisableFlagsInUseLine: true,
	}
	c.Flags().AddFlagSet(shepherdcli.FlagSet())
	return c
}
