package fleetcmd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
)

const inventory = `hosts:
  web1:
    address: ssh://admin@10.0.0.9:22
    tags: {role: web, env: prod}
    groups: [eu]
  db1:
    address: ssh://admin@10.0.0.10:22
    tags: {role: db}
`

// TestNewCmdHosts: `herd hosts` prints the hosts a selector picks; no
// match is a failure (exit 1), a malformed selector a usage error (exit 2).
func TestNewCmdHosts(t *testing.T) {
	inv := filepath.Join(t.TempDir(), "inventory.yaml")
	if err := os.WriteFile(inv, []byte(inventory), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name             string
		args             []string
		wantOut, wantErr string
		wantCode         int // as cli.Run would return it
	}{
		{name: "all", args: nil,
			wantOut: "web1             ssh      env=prod role=web groups: eu\ndb1              ssh      role=db\n"},
		{name: "by tag", args: []string{"-t", "role=db"}, wantOut: "db1              ssh      role=db\n"},
		{name: "by group", args: []string{"-g", "eu"}, wantOut: "web1             ssh      env=prod role=web groups: eu\n"},
		{name: "no match", args: []string{"-g", "eu", "-t", "role=db"},
			wantErr: "herd: error: no host of " + inv + " matches\n", wantCode: cmdutil.ExitFailure},
		{name: "unknown group", args: []string{"-g", "us"}, wantCode: cmdutil.ExitUsage},
		{name: "unknown tag", args: []string{"-t", "colour"}, wantCode: cmdutil.ExitUsage},
		{name: "excluded", args: []string{"-x", "web1"}, wantOut: "db1              ssh      role=db\n"},
		{name: "range", args: []string{"-H", "web[1-1],db1", "-g", "!db"}, wantOut: "web1             ssh      env=prod role=web groups: eu\n"},
		{name: "tags", args: []string{"--tags"}, wantOut: "env=prod                 1\nrole=db                  1\nrole=web                 1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := &cmdutil.Factory{Out: &out, Err: &errOut}
			c := NewCmdHosts(f)
			c.SilenceErrors, c.SilenceUsage = true, true
			c.SetArgs(append([]string{"--inventory", inv}, tt.args...))
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
			if out.String() != tt.wantOut || errOut.String() != tt.wantErr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", out.String(), errOut.String(), tt.wantOut, tt.wantErr)
			}
		})
	}
}
