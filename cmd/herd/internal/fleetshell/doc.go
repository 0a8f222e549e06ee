// Package fleetshell is herd fleet shell: a prompt that runs each line
// on the fleet as herd fleet exec does, the line's selectors (@failed,
// @changed, @differs, @tag:X, @group:G, @host:H, @exclude:H) narrowing
// the shell's hosts for that line, with line editing, a history kept per
// user and searched with Ctrl-R, and Tab completion of selectors, tags,
// groups and host names (github.com/chzyer/readline). Without a terminal
// it reads lines plainly, a script.
//
// Parse, Resolve, Outcome and Complete are the pure part; Run is the
// loop, and runs each line through an Exec the caller gives (fleetcmd's,
// the code of herd fleet exec itself).
package fleetshell
