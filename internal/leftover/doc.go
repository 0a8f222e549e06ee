// Package leftover finds what a previous run of the daemon left running,
// after it ended without stopping its services (kill -9, a crash, the
// power of an OOM killer), and stops it.
//
// The daemon records each service's main process as it starts it (a
// Record: PID, start time, process group and session, the boot it
// belongs to; see Record) in the history store. On its next start, it
// looks for the processes of each record (Find): the main process, if its
// PID still names a process with the recorded start time (PIDs are
// reused; the start time, in clock ticks after boot, is not, within one
// boot), and the members of its process group and session and their
// descendants. A record made before a reboot names nothing.
//
// Everything read from disk may be stale or tampered with: a process is
// signalled only once it is held by a pidfd and /proc, read after that,
// still says it is the process found (same start time, same uids); never
// PID 1, the daemon itself or its ancestors, nor a kernel thread.
//
// What to do with what is found (adopt the service, or stop it) is not
// this package's: see adoption.Decide.
package leftover
