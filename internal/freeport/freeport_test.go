package freeport

import (
	"fmt"
	"net"
	"testing"
)

func TestGetIsFreeAndBelowTheEphemeralRange(t *testing.T) {
	top := ephemeralStart()
	for range 20 {
		p, err := Get()
		if err != nil {
			t.Fatal(err)
		}
		if p < lowest || p >= top {
			t.Fatalf("port %d is outside [%d, %d)", p, lowest, top)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d was handed out but cannot be bound: %v", p, err)
		}
		l.Close()
	}
}
