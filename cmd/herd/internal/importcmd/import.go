package importcmd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/importer"
	"github.com/shepherd-go/shepherd/importer/shepherd"
	"github.com/shepherd-go/shepherd/importer/supervisord"
	"github.com/shepherd-go/shepherd/importer/systemd"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/spf13/cobra"
)

// Report is `herd import --json`'s document (docs/herd.md).
type Report struct {
	Source   string             `json:"source"`
	Files    []string           `json:"files"`
	Output   string             `json:"output"`
	Services []string           `json:"services"`
	Warnings []importer.Warning `json:"warnings"`
	YAML     string             `json:"yaml"`
}

// NewCmdImport builds `herd import` and its subcommands, one per source
// format: shepherd, supervisord and systemd.
func NewCmdImport(f *cmdutil.Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "import shepherd|supervisord|systemd FILE... [-o FILE]",
		Short: "Translate a GNU Shepherd, supervisord or systemd configuration into shepherd's",
		Long: `Translate another service manager's configuration into a services file,
on standard output or into FILE (-o). Each directive that is not carried over,
or not exactly, is reported at its file and line, and written as a comment
above its service. The result loads with shepherd -c and herd load.`,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmdutil.UsageError("import: name what to import from: shepherd, supervisord or systemd")
			}
			return cmdutil.UsageError(fmt.Sprintf("import: unknown format %q (shepherd, supervisord or systemd)", args[0]))
		},
	}
	cmd.PersistentFlags().StringVarP(&output, "output", "o", "", "write the services file to FILE instead of standard output")
	run := func(source string, read func(files []string) (*importer.Result, error)) func(*cobra.Command, []string) error {
		return func(_ *cobra.Command, files []string) error {
			return runImport(f, source, files, output, read)
		}
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "shepherd FILE.scm",
		Short: "Import a GNU Shepherd (or Guix) configuration",
		Args:  cobra.ExactArgs(1),
		RunE: run("shepherd", func(files []string) (*importer.Result, error) {
			data, err := readLimited(files[0], 16<<20)
			if err != nil {
				return nil, err
			}
			return shepherd.Import(files[0], data)
		}),
	}, &cobra.Command{
		Use:   "supervisord FILE.conf",
		Short: "Import a supervisord configuration",
		Args:  cobra.ExactArgs(1),
		RunE: run("supervisord", func(files []string) (*importer.Result, error) {
			data, err := readLimited(files[0], supervisord.MaxFileSize+1)
			if err != nil {
				return nil, err
			}
			host, _ := os.Hostname()
			abs, err := filepath.Abs(files[0])
			if err != nil {
				return nil, err
			}
			return supervisord.Import(files[0], data, supervisord.Options{Env: os.LookupEnv, Hostname: host, Here: filepath.Dir(abs)})
		}),
	}, &cobra.Command{
		Use:   "systemd UNIT...",
		Short: "Import systemd unit files (a NAME@INSTANCE.service reads NAME@.service)",
		Args:  cobra.MinimumNArgs(1),
		RunE: run("systemd", func(files []string) (*importer.Result, error) {
			units, err := systemd.ReadUnits(files)
			if err != nil {
				return nil, err
			}
			return systemd.Import(units), nil
		}),
	})
	return cmd
}

// readLimited reads a regular file of at most max bytes (the importer
// says what is too big).
func readLimited(path string, max int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if st, err := fh.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return io.ReadAll(io.LimitReader(fh, max))
}

// runImport reads, translates, checks and writes; exit 1 when nothing
// could be written (docs/herd.md).
func runImport(f *cmdutil.Factory, source string, files []string, output string, read func([]string) (*importer.Result, error)) error {
	fail := func(msg string) error {
		return f.FailKind(cmdutil.KindImportFailed, msg)
	}
	r, err := read(files)
	if err != nil {
		return fail(err.Error())
	}
	accounts := f.Accounts
	if accounts == nil {
		accounts = config.SystemAccounts{}
	}
	r.CheckAccounts(accounts)
	data, err := r.YAML()
	if err != nil {
		return fail(err.Error())
	}
	// What we write must load: a failure here is the importer's bug.
	if _, err := importer.Check("(imported)", data); err != nil {
		return fail(fmt.Sprintf("the imported configuration does not load, which is a bug of herd import (please report it with the source file):\n%v", err))
	}
	if output != "" && output != "-" {
		if err := writeImported(output, data, files); err != nil {
			return fail(err.Error())
		}
	}
	var names []string
	for _, s := range r.Services {
		names = append(names, s.Name)
	}
	if f.JSON {
		return f.PrintDoc(Report{Source: source, Files: r.Files, Output: output, Services: names, Warnings: r.Warnings, YAML: string(data)})
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(f.Err, "%s: %s: %s\n", w.Pos, w.Directive, w.Message)
	}
	if output == "" || output == "-" {
		f.Out.Write(data)
	}
	where := ""
	if output != "" && output != "-" {
		where = " into " + output
	}
	what := fmt.Sprintf("%d service(s)", len(names))
	if len(names) > 0 {
		what += " (" + strings.Join(names, " ") + ")"
	}
	fmt.Fprintf(f.Err, "herd: imported %s from %s%s", what, strings.Join(files, " "), where)
	if n := len(r.Warnings); n > 0 {
		fmt.Fprintf(f.Err, "; %d directive(s) not carried over, or not exactly: above, and as comments in the file", n)
	}
	fmt.Fprintln(f.Err, ".")
	return nil
}

// writeImported writes the services file whole or not at all, readable
// by others only when every source file is: an environment may hold
// secrets.
func writeImported(path string, data []byte, sources []string) error {
	perm := os.FileMode(0o644)
	for _, s := range sources {
		if st, err := os.Stat(s); err == nil && st.Mode().Perm()&0o004 == 0 {
			perm = 0o600
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
