// Package monitors samples facts on a daemon: the built-in monitors
// (load, cpu, memory, disk, uptime, kernel, packages) and plugins, any
// executable that prints JSON lines of facts (package facts). Each
// monitor runs on its own accounted goroutine, so a plugin that hangs (it
// is killed at its timeout), prints garbage or floods its output (cut at
// execrunner.MaxOutput) is reported in its last run and never stalls the
// others. Samples go to the history through the daemon's one writer;
// thresholds raise and clear history events of kind "alert".
//
// Book serves the daemon's requests facts, monitors and query (the query
// runs on the caller's goroutine, never in an actor's loop).
package monitors
