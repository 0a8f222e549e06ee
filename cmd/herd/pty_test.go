package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// pty PROG [ARG...]: run PROG (found on the script's PATH, as herd is)
// with its stdout and stderr on a new pseudo-terminal; what it printed
// there becomes the command's stdout. The terminal does not turn "\n"
// into "\r\n", so the output reads as from a pipe.
func cmdPty(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: pty PROG [ARG...]")
	}
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	ts.Check(err)
	defer master.Close()
	ts.Check(unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	ts.Check(err)
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	ts.Check(err)
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	ts.Check(err)
	tio.Oflag &^= unix.OPOST
	ts.Check(unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, tio))

	path := args[0]
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		if p := filepath.Join(dir, args[0]); fileExists(p) {
			path = p
			break
		}
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Env = append(os.Environ(), "PATH="+ts.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = tty, tty
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		io.Copy(&out, master) // ends with EIO once no one has the terminal open
		close(read)
	}()
	err = cmd.Start()
	tty.Close()
	if err == nil {
		err = cmd.Wait()
	}
	<-read
	ts.Stdout().Write(out.Bytes())
	if neg && err == nil {
		ts.Fatalf("unexpected success")
	}
	if !neg && err != nil {
		ts.Fatalf("%s on a terminal: %v", args[0], err)
	}
}
