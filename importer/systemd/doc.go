// Package systemd translates systemd unit files (.service, and .target as
// milestones) into services of our configuration, for `herd import
// systemd`.
//
// It reads the syntax of systemd.syntax(7) (sections, continuation lines,
// comments, quoting and C escapes, empty assignments that reset a list),
// expands the specifiers a unit file alone determines (%n %N %p %P %i %I
// %j %J %f %y %Y and the system directories %t %S %C %L %E %T %V), and
// maps the directives of systemd.service(5) and systemd.exec(5) to keys
// of docs/config.md. Everything else, and everything carried over only
// in part, is a warning at its file and line: docs/migrating.md says per
// directive what carries over.
//
// Commands keep systemd's meaning: $VAR and ${VAR} are expanded at
// import time when Environment= defines them, and otherwise by an sh -c
// wrapper that expands them when the command runs (the variables of an
// EnvironmentFile=); ExecStartPre= commands run before ExecStart= in one
// such script, stopping at the first that fails, as systemd does.
package systemd
