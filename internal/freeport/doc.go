// Package freeport finds loopback TCP ports for tests that must name a
// port before the program that listens on it starts (a daemon's config,
// an sshd, a service that comes back on the same address).
//
// Asking the kernel for port 0 and closing it hands back a port from the
// ephemeral range, which every outgoing connection on the machine draws
// its source port from: by the time the program binds it, a connection of
// some other test may hold it ("address already in use"). So the ports
// come from below that range, where only explicit binds land.
package freeport
