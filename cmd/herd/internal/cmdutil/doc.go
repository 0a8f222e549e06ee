// Package cmdutil holds what every herd command shares, as kubectl's
// cmdutil does for its commands: the Factory (IO streams, global flags,
// dialing the daemon, sending a request and printing its reply or its
// error exactly as herd-cli.md specifies), the Client it dials, herd's
// exit codes and the Failure that carries one, EachService (a command on
// several services at once), and the guard that escapes control
// characters on a terminal. The command packages (cli,
// which holds the root command, fleetcmd, importcmd) build their cobra
// commands on it; it builds none itself.
package cmdutil
