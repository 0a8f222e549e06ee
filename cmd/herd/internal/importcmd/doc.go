// Package importcmd is `herd import`: it reads another service manager's
// files (GNU Shepherd, supervisord, systemd units), has package importer
// translate them, checks that the result loads and writes it, with a
// warning at the source line for each directive not carried over
// (docs/migrating.md).
package importcmd
