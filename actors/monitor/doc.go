// Package monitor is the process monitor: the one actor that starts
// processes (through internal/proc) and hears of every reaped exit,
// which it routes to the process's owner (a controller, a hook, an exec),
// so that an owner always hears of a start before of its exit. Processes
// the daemon did not fork (adopted through a pid file) are watched
// through their pidfd.
package monitor
