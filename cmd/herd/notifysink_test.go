package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// notifySinkMain is the program `notifysink NOTIFY_SOCKET SOCKET READYFILE`:
// systemd's side of sd_notify for a daemon started with NOTIFY_SOCKET. It
// prints every datagram; at READY=1 it dials the daemon's control SOCKET
// at once (it must listen by then: that is what Type=notify promises
// the units ordered after shepherd.service), says whether it could, and
// creates READYFILE. It exits after STOPPING=1, or after the deadline.
func notifySinkMain() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: notifysink NOTIFY_SOCKET SOCKET READYFILE")
		os.Exit(2)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: os.Args[1], Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifysink:", err)
		os.Exit(1)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(deadline))
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, "notifysink:", err)
			os.Exit(1)
		}
		msg := string(buf[:n])
		fmt.Printf("datagram %q\n", msg)
		for line := range strings.SplitSeq(msg, "\n") {
			switch line {
			case "READY=1":
				if conn, err := net.Dial("unix", os.Args[2]); err != nil {
					fmt.Println("socket at READY=1:", err)
				} else {
					fmt.Println("socket at READY=1: listening")
					conn.Close()
				}
				os.WriteFile(os.Args[3], nil, 0o644)
			case "STOPPING=1":
				return
			}
		}
	}
}
