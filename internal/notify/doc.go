// Package notify is the daemon's side of the sd_notify protocol
// (sd_notify(3)), without actors: one datagram socket per service, bound
// where the service's user, and nobody else, may send to it; each
// datagram checked against the credentials the kernel attaches to it
// (SO_PASSCRED), so that only the service's own processes are heard;
// every datagram parsed as hostile bytes (bounded size, bounded STATUS=,
// passed descriptors closed, malformed ones counted and dropped).
//
// What a service said reaches its owner as Messages, through a queue of
// bounded length that the owner drains with Take when told to: a service
// that floods its socket costs the daemon one wake-up per drain, never an
// unbounded mailbox.
package notify
