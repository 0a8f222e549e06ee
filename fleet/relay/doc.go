// Package relay is a relay shepherd's part of `herd fleet exec`: the
// operator's daemon sends one relay-exec request to a relay (presenting
// the relay's relay capability), naming the hosts behind it with the
// holder's own exec sturdyrefs; the relay calls each host with that
// sturdyref, marked relayed (the host checks it as presented by anyone),
// at most Fanout at a time, and streams the answers back grouped, a
// batch at a time. The operator's daemon holds one connection per relay,
// not one per host. For `herd fleet tail`, a relay-stream request makes
// the relay follow one host's stream (a file's tail, a service's log -f)
// the same way, passing each reply back (stream.go).
//
// The relay adds no authority and can take none away but by not
// calling: it has no capability of its own on the hosts, only the
// sturdyrefs it was handed, which the hosts check against their own
// grants (an attenuated one allows what its allow-list allows, to the
// relay as to anyone); a host's refusal is passed back word for word.
//
// The wire form (Args, Batch, StreamArgs) and the grouping are pure;
// Serve and ServeStream do the calls.
package relay
