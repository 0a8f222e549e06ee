// Package bootstrap is herd fleet bootstrap: over SSH, install shepherd
// and herd on a host, start the daemon there and have it grant an exec
// capability to the local daemon. The host is reached as every SSH host
// of a fleet run is (fleet.SSH: ~/.ssh/config's Host aliases, User,
// Port, IdentityFile and ProxyJump, known_hosts).
package bootstrap
