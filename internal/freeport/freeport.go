package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
)

// Below the ephemeral range and above the well-known ports, where few
// system daemons listen.
const lowest = 10000

// Get returns a TCP port of 127.0.0.1 that is free now and is not one the
// kernel hands out as a source port.
func Get() (int, error) {
	top := ephemeralStart()
	if top <= lowest+100 {
		return 0, fmt.Errorf("freeport: the ephemeral range starts at %d; no room below it", top)
	}
	for range 500 {
		p := lowest + rand.IntN(top-lowest)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, errors.New("freeport: no free port found below the ephemeral range")
}

// ephemeralStart is the first port of the kernel's ephemeral range.
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil || lo <= 0 {
		return 32768
	}
	return lo
}
