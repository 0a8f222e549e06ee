package importcmd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
)

// TestNewCmdImport: the services file goes to stdout (or -o's file) and
// the account of it to stderr; nothing to import is a failure (exit 1),
// an unknown format a usage error (exit 2).
func TestNewCmdImport(t *testing.T) {
	dir := t.TempDir()
	unit := filepath.Join(dir, "web.service")
	if err := os.WriteFile(unit, []byte("[Unit]\nDescription=Web\n\n[Service]\nExecStart=/usr/bin/web --port 80\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "web.yaml")
	for _, tt := range []struct {
		name             string
		args             []string
		wantOut, wantErr string // substrings
		wantCode         int    // as cli.Run would return it
	}{
		{name: "stdout", args: []string{"systemd", unit},
			wantOut: "  - name: web\n    documentation: Web\n    command: [/usr/bin/web, --port, \"80\"]\n",
			wantErr: "herd: imported 1 service(s) (web) from " + unit + ".\n"},
		{name: "-o", args: []string{"systemd", unit, "-o", out},
			wantErr: "herd: imported 1 service(s) (web) from " + unit + " into " + out + ".\n"},
		{name: "missing file", args: []string{"systemd", filepath.Join(dir, "missing.service")},
			wantErr: "herd: error: open " + filepath.Join(dir, "missing.service") + ": no such file or directory\n", wantCode: cmdutil.ExitFailure},
		{name: "unknown format", args: []string{"launchd", "x.plist"}, wantCode: cmdutil.ExitUsage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			f := &cmdutil.Factory{Out: &stdout, Err: &stderr}
			c := NewCmdImport(f)
			c.SilenceErrors, c.SilenceUsage = true, true
			c.SetArgs(tt.args)
			err := c.Execute()
			var fl cmdutil.Failure
			code := cmdutil.ExitOK
			switch {
			case errors.As(err, &fl):
				code = fl.Code
			case err != nil:
				code = cmdutil.ExitUsage
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d (%v), want %d", code, err, tt.wantCode)
			}
			if !strings.Contains(stdout.String(), tt.wantOut) || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stdout %q, stderr %q; want them to hold %q, %q", stdout.String(), stderr.String(), tt.wantOut, tt.wantErr)
			}
		})
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "  - name: web\n") {
		t.Errorf("-o %s: %q, %v", out, b, err)
	}
}
