package services

// Account is a user a service runs as.
type Account struct {
	Name  string
	UID   uint32
	GID   uint32 // primary group
	Home  string
	Shell string
}
