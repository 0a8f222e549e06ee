// Package wire is the control protocol of design §6: newline-delimited JSON
// frames, one request then one or more replies, with a closed set of error
// kinds. Both transports (the unix socket and libp2p streams) carry it, and
// herd links only this package and the unix dialer, never libp2p.
package wire
