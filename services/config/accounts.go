package config

import (
	"fmt"
	"os/user"
	"strconv"

	"github.com/shepherd-go/shepherd/services"
)

// Accounts resolves user and group names (services.Accounts).
type Accounts = services.Accounts

// SystemAccounts resolves names from the system's user database through
// os/user: NSS (LDAP, SSSD, ...) in a program built with cgo, as the
// daemon is; /etc/passwd and /etc/group alone without cgo, as herd is
// (docs/herd.md). Lookups may block on a remote directory.
type SystemAccounts struct{}

// LookupUser finds a user by name or numeric id.
func (SystemAccounts) LookupUser(s string) (services.Account, error) {
	u, err := user.Lookup(s)
	if err != nil {
		if _, nerr := strconv.ParseUint(s, 10, 32); nerr == nil {
			u, err = user.LookupId(s)
		}
	}
	if err != nil {
		return services.Account{}, fmt.Errorf("unknown user %q", s)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return services.Account{Name: u.Username, UID: uint32(uid), GID: uint32(gid), Home: u.HomeDir, Shell: loginShell(u.Username)}, nil
}

// LookupGroup finds a group by name or numeric id.
func (SystemAccounts) LookupGroup(s string) (uint32, error) {
	g, err := user.LookupGroup(s)
	if err != nil {
		if _, nerr := strconv.ParseUint(s, 10, 32); nerr == nil {
			g, err = user.LookupGroupId(s)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("unknown group %q", s)
	}
	gid, _ := strconv.ParseUint(g.Gid, 10, 32)
	return uint32(gid), nil
}

// loginShell is the user's shell from /etc/passwd (os/user does not say).
func loginShell(name string) string {
	return passwdField(name, 6)
}

// noAccounts resolves nothing: the loader's accounts when it was given none.
type noAccounts struct{}

func (noAccounts) LookupUser(s string) (services.Account, error) {
	return services.Account{}, fmt.Errorf("cannot look up user %q here", s)
}

func (noAccounts) LookupGroup(s string) (uint32, error) {
	return 0, fmt.Errorf("cannot look up group %q here", s)
}
