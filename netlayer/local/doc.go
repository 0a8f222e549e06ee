// Package local is the unix-socket transport of the control protocol: the
// listener the daemon serves herd on (with the socket-directory checks and
// SO_PEERCRED identification of design §6) and the dialer herd uses.
//
// It links only package wire and the standard library so that herd stays
// small and quick to start.
package local
