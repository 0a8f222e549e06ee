package fleetcmd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/spf13/cobra"
)

// Test_recipeAndWatchRefuse: what is refused before any host is reached
// (no daemon runs here: a command that tried one would fail otherwise),
// and --dry-run, which reaches none.
func Test_recipeAndWatchRefuse(t *testing.T) {
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.yaml")
	recipes := filepath.Join(dir, "recipes")
	os.MkdirAll(recipes, 0o755)
	os.WriteFile(inv, []byte(inventory+"recipes:\n  up:\n    steps: [uptime]\n"), 0o644)
	os.WriteFile(filepath.Join(recipes, "restart.yaml"), []byte(`description: restart
params:
  service: {required: true}
steps:
  - systemctl restart {{.service}}
  - "@failed journalctl -u {{.service}} --host {{.Host}}"
`), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("steps:\n  - run: x\n    when: later\n"), 0o644)
	for _, tt := range []struct {
		name     string
		cmd      func(*cmdutil.Factory) *cobra.Command
		args     []string
		wantOut  string
		wantErr  string // in the error
		wantCode int
	}{
		{name: "watch too often", cmd: NewCmdFleet, args: []string{"watch", "--inventory", inv, "--interval", "200ms", "--", "true"},
			wantErr: "--interval 200ms: the shortest is 1s", wantCode: cmdutil.ExitUsage},
		{name: "required param", cmd: NewCmdRecipe, args: []string{"run", "restart"},
			wantErr: "needs service: give --set service=VALUE", wantCode: cmdutil.ExitUsage},
		{name: "bad --set", cmd: NewCmdRecipe, args: []string{"run", "restart", "--set", "service"},
			wantErr: `--set "service": expected KEY=VALUE`, wantCode: cmdutil.ExitUsage},
		{name: "no such recipe", cmd: NewCmdRecipe, args: []string{"show", "nope"}, wantCode: cmdutil.ExitFailure},
		{name: "list", cmd: NewCmdRecipe, args: []string{"list"}, wantOut: "restart              restart\nup                   \n"},
		{name: "dry run", cmd: NewCmdRecipe, args: []string{"run", "restart", "--set", "service=nginx", "-x", "db1", "--dry-run"},
			wantOut: "Recipe restart on 1 hosts (dry run: nothing runs)\nweb1:\n  1. systemctl restart nginx\n  2. [where step 1 failed] journalctl -u nginx --host web1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := &cmdutil.Factory{Out: &out, Err: &errOut, Socket: filepath.Join(dir, "no-daemon")}
			c := tt.cmd(f)
			c.SilenceErrors, c.SilenceUsage = true, true
			args := tt.args
			if c.Name() == "recipe" {
				args = append(args, "--recipes", recipes, "--inventory", inv)
			}
			c.SetArgs(args)
			err := c.Execute()
			var fl cmdutil.Failure
			code := cmdutil.ExitOK
			switch {
			case errors.As(err, &fl):
				code = fl.Code
			case err != nil:
				code = cmdutil.ExitUsage
			}
			if code != tt.wantCode || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("exit code %d (%v), want %d and %q", code, err, tt.wantCode, tt.wantErr)
			}
			if out.String() != tt.wantOut {
				t.Errorf("stdout %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}
