package shepherdcli

import (
	"fmt"
	"os/user"
	"strconv"
)

// lookupGroup accepts a group name or a numeric id.
func lookupGroup(g string) (int, error) {
	if id, err := strconv.Atoi(g); err == nil {
		return id, nil
	}
	grp, err := user.LookupGroup(g)
	if err != nil {
		return 0, fmt.Errorf("unknown group %q", g)
	}
	return strconv.Atoi(grp.Gid)
}
