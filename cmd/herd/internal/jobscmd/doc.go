// Package jobscmd is `herd run` (run a command as a tracked job and
// report its start and end to the daemon, or through a capability to a
// collector daemon) and `herd jobs` (the jobs and their runs). herd runs
// the command itself, as the calling user: the daemon only keeps what herd
// reports (actors/jobbook, services/jobs).
package jobscmd
