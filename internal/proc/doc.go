// Package proc is the daemon's OS mechanics, without actors: starting a
// process (fork/exec in a session of its own, and the trampoline that
// applies what fork/exec cannot), the one wait4 reaper, the epoll pump
// that turns every service's output into timestamped lines, and the
// careful reading of what a service writes for the daemon (its pid file,
// /proc). Who owns a process or a pipe is the caller's business: the pump
// hands each pipe's lines to an opaque owner, the reaper every exit to one
// function.
package proc
