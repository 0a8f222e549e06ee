package services

// Account is a user a service runs as.
type Account struct {
	Name  string
	UID   uint32
	GID   uint32 // primary group
	Home  string
	Shell string
}

// Accounts resolves user and group names; the loader (services/config)
// reports names it cannot resolve as configuration errors. The loader is
// given one rather than reading the system's database itself, so that a
// caller chooses when and where lookups happen and tests need no
// particular users on the machine.
type Accounts interface {
	LookupUser(nameOrID string) (Account, error)
	LookupGroup(nameOrID string) (uint32, error)
}
