package config

import (
	"fmt"
	"strconv"

	"github.com/shepherd-go/shepherd/services"
)

// fakeAccounts is a user database in memory: the loader's tests need no
// particular users or groups on the machine that runs them.
type fakeAccounts struct {
	users  []services.Account
	groups map[string]uint32
}

func (f fakeAccounts) LookupUser(s string) (services.Account, error) {
	for _, a := range f.users {
		if a.Name == s || strconv.FormatUint(uint64(a.UID), 10) == s {
			return a, nil
		}
	}
	return services.Account{}, fmt.Errorf("unknown user %q", s)
}

func (f fakeAccounts) LookupGroup(s string) (uint32, error) {
	if gid, ok := f.groups[s]; ok {
		return gid, nil
	}
	for _, gid := range f.groups {
		if strconv.FormatUint(uint64(gid), 10) == s {
			return gid, nil
		}
	}
	return 0, fmt.Errorf("unknown group %q", s)
}

// testAccounts has names no real system is likely to have, so a test that
// passes with them did not read the system's database.
var testAccounts = fakeAccounts{
	users: []services.Account{
		{Name: "herdsman", UID: 4101, GID: 4200, Home: "/srv/herdsman", Shell: "/bin/dash"},
		{Name: "shearer", UID: 4102, GID: 4201, Home: "/home/shearer"},
	},
	groups: map[string]uint32{"flock": 4200, "pasture": 4201, "wool": 4300},
}
