// Package httpguard is what every HTTP listener of the daemon (the API of
// --http and the scrapes of --metrics) puts in front of its handlers:
// the bearer token of a request, the bad-token throttle, and a bound on
// open connections. Both listeners face the same callers, so they share
// one answer to a guessing or hoarding client. And, as both are handed
// over by a re-exec, the taking of their sockets (Detach, Taken) and
// their inheritance (Inherited).
package httpguard
