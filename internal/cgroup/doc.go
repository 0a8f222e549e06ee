// Package cgroup gives each service a cgroup of its own (issue 16): the
// daemon's root cgroup, one `<root>/<name>.service` per service (per
// instance), entered at fork (CLONE_INTO_CGROUP, see OpenDir), killed and
// waited for as a whole (Kill, WaitEmpty), measured (Read) and removed
// once empty (Remove).
//
// Layout. The cgroup2 hierarchy is found in /proc/self/mountinfo
// (/sys/fs/cgroup on a unified system, /sys/fs/cgroup/unified on a hybrid
// one). The root is `--cgroup DIR`, or a child of the daemon's own cgroup
// named `shepherd-<uid>-<first 8 hex of sha256 of the state dir>` (RootName),
// stable across restarts of one daemon and distinct for two daemons; as
// PID 1 it is `<mount>/shepherd`. A service's cgroup path is derived from
// its name only (Dir), so that it is the service's identity on disk: a
// re-exec or a restart of the daemon finds it again (Previous lists
// them, for adoption after a crash).
//
// Controllers. Limits (memory-max, pids-max, ...) use the cgroup v2
// controller where the root may enable it. On a hybrid system, whose v2
// hierarchy often has no controllers, a controller mounted as a cgroup v1
// hierarchy is used instead: the service gets a mirror cgroup
// `<v1 mount>/<the daemon's v1 cgroup>/<root's relative path>/<name>.service`
// there, which the trampoline enters before it execs the command (so
// no code of the service ever runs outside it). Tracking, kill and
// emptiness always go by the v2 cgroup, which holds every process.
//
// Without a usable cgroup2 (no mount, not writable, not delegated to a
// user daemon) Setup says why, and the daemon falls back to process
// group + session + orphans attributed by the subreaper.
package cgroup
