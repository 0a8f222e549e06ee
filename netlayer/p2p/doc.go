// Package p2p is the daemon's network layer: a go-libp2p host with the
// daemon's persistent ed25519 identity, TCP and QUIC, Noise and yamux, and
// nothing else (no DHT, no mDNS, no relay, no hole punching, no public
// bootstrap: peers come from the address hints of sturdyrefs). One
// protocol, /shepherd/ctl/1, carries the frames of the control protocol
// (design §6) over streams that look like connections, so the unix socket's
// server and client serve it unchanged. A connection gater and the
// resource manager with explicit limits bound what an unknown peer costs,
// and keep most of the host for known peers, those a capability
// authorized (gater.go; docs/network.md, "Limits").
package p2p
