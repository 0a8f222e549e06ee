// Package config reads the services file (YAML, one file or a directory
// of them) into services.Spec values, reporting every error at once at
// FILE:LINE:COL. Users and groups are looked up through the Accounts the
// caller passes, so that the caller chooses where lookups happen (not in
// an actor's Receive) and tests need no particular users.
package config
