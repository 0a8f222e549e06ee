package importer

import (
	"strconv"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/config"
)

// Check reads data back with the configuration loader, as `shepherd -c`
// would, and validates the services together. It resolves every user and
// group name (the machine that runs the result may have users this one
// has not: CheckAccounts says which are missing here). An error is an
// importer's bug: what it writes must load.
func Check(file string, data []byte) ([]*services.Spec, error) {
	specs, errs := config.Parse(file, data, anyAccount{})
	errs = append(errs, services.Validate(specs)...)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return specs, nil
}

// anyAccount resolves every name, to uid and gid 65534.
type anyAccount struct{}

func (anyAccount) LookupUser(s string) (services.Account, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return services.Account{Name: s, UID: uint32(n), GID: uint32(n)}, nil
	}
	return services.Account{Name: s, UID: 65534, GID: 65534}, nil
}

func (anyAccount) LookupGroup(s string) (uint32, error) {
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return uint32(n), nil
	}
	return 65534, nil
}

// CheckAccounts warns about each user and group of the services that acc
// does not know: the result would not load on this machine until they
// exist (useradd), though it may on the one it is meant for.
func (r *Result) CheckAccounts(acc config.Accounts) {
	for _, s := range r.Services {
		if s.User != "" {
			if _, err := acc.LookupUser(s.User); err != nil {
				r.Warn(s.Pos, s.Name, "user", "%v on this machine: the configuration loads only where user %s exists", err, s.User)
			}
		}
		for _, g := range append([]string{s.Group}, s.SupplementaryGroups...) {
			if g == "" {
				continue
			}
			if _, err := acc.LookupGroup(g); err != nil {
				r.Warn(s.Pos, s.Name, "group", "%v on this machine: the configuration loads only where group %s exists", err, g)
			}
		}
	}
}
