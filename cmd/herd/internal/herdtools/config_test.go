package herdtools

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cli"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/services"
)

// oneUser knows a single user, whom no real system is likely to have.
type oneUser struct{}

func (oneUser) LookupUser(s string) (services.Account, error) {
	if s == "herdsman" {
		return services.Account{Name: s, UID: 4101, GID: 4200}, nil
	}
	return services.Account{}, fmt.Errorf("unknown user %q", s)
}

func (oneUser) LookupGroup(s string) (uint32, error) {
	return 0, fmt.Errorf("unknown group %q", s)
}

// Test_configValidateAccounts: `config validate` resolves names with the
// Factory's accounts.
func Test_configValidateAccounts(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir) // no inventory
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("services:\n  - name: a\n    command: [x]\n    user: herdsman\n"), 0o644)
	os.WriteFile(bad, []byte("services:\n  - name: a\n    command: [x]\n    group: flock\n"), 0o644)
	for _, tt := range []struct {
		file, wantOut, wantErr string
		wantCode               int
	}{
		{good, good + ": 1 services, valid.\n", "", cmdutil.ExitOK},
		{bad, "", bad + `:4:12: group: unknown group "flock"` + "\nherd: error: 1 error(s)\n", cmdutil.ExitFailure},
	} {
		var out, errOut bytes.Buffer
		f := &cmdutil.Factory{Out: &out, Err: &errOut, Accounts: oneUser{}}
		if code := cli.RunTree(f, []string{"config", "validate", tt.file}, NewRootCmd); code != tt.wantCode {
			t.Errorf("%s: exit code %d, want %d", tt.file, code, tt.wantCode)
		}
		if out.String() != tt.wantOut || errOut.String() != tt.wantErr {
			t.Errorf("%s: stdout %q, stderr %q; want %q, %q", tt.file, out.String(), errOut.String(), tt.wantOut, tt.wantErr)
		}
	}
}
