package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// activationBench measures a connection to an inetd-style service (the
// daemon accepts, forks and execs cat with the connection on its stdin
// and stdout, and reaps it) against the same done by a bare accept and
// fork/exec loop in this process, alternating the two and comparing
// medians of round trips (connect, send a line, read it back, close).
func activationBench(bin, dir string, rounds int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close() // the daemon binds it
	cfg := fmt.Sprintf("services:\n  - name: echo\n    command: [cat]\n    listen: [{tcp: %q}]\n    socket-activation: inetd\n", addr)
	if err := os.WriteFile(filepath.Join(dir, "services.yaml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	b := &bench{bin: bin, dir: dir, sock: filepath.Join(dir, "run", "socket")}
	if err := b.startDaemon(); err != nil {
		return err
	}
	defer b.stopDaemon()
	// Auto-started: it listens once the service runs.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if echoCall(addr) == nil {
			break
		}
		if time.Now().After(end) {
			return fmt.Errorf("the inetd-style service does not answer on %s", addr)
		}
	}

	cat, err := exec.LookPath("cat")
	if err != nil {
		return err
	}
	bare, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer bare.Close()
	go func() {
		for {
			c, err := bare.Accept()
			if err != nil {
				return
			}
			f, err := c.(*net.TCPConn).File()
			c.Close()
			if err != nil {
				continue
			}
			cmd := exec.Command(cat)
			cmd.Stdin, cmd.Stdout = f, f
			err = cmd.Start()
			f.Close()
			if err == nil {
				go cmd.Wait()
			}
		}
	}()

	var got, base []time.Duration
	for range 3 {
		got = append(got, median(rounds, func() error { return echoCall(addr) }))
		base = append(base, median(rounds, func() error { return echoCall(bare.Addr().String()) }))
	}
	fmt.Printf("%-28s %8.2f ms   bare accept+fork/exec loop %.2f ms, ratio %.2fx\n",
		"inetd connection (cat)", ms(mid(got)), ms(mid(base)), float64(mid(got))/float64(mid(base)))
	return nil
}

// echoCall connects, sends a line, reads it back and closes.
func echoCall(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintln(c, "ping"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "ping\n" {
		return fmt.Errorf("echo answered %q", line)
	}
	return nil
}
