package httpguard

import (
	"fmt"
	"net"
	"os"
)

// Taken is the listening sockets a re-exec took from the daemon's HTTP
// servers (their Detach): to hand over to the new binary or, should the
// re-exec fail, to serve again.
type Taken struct {
	Files    []*os.File
	giveBack []func()
}

// Take takes one server's socket with detach (what: its flag, for
// messages): nil, nil when the server serves nothing. GiveBack serves
// it again through reattach.
func (t *Taken) Take(what string, detach func() (*os.File, error), reattach func(*os.File) error, logf func(string, ...any)) (*os.File, error) {
	f, err := detach()
	if err != nil {
		return nil, fmt.Errorf("%s listener: %w", what, err)
	}
	if f == nil {
		return nil, nil
	}
	t.Files = append(t.Files, f)
	t.giveBack = append(t.giveBack, func() {
		if err := reattach(f); err != nil {
			logf("%s: cannot serve again after the failed re-exec: %v", what, err)
		}
	})
	return f, nil
}

// GiveBack serves every socket taken again (the re-exec failed).
func (t *Taken) GiveBack() {
	for _, g := range t.giveBack {
		g()
	}
}

// Close closes the files taken: the new binary inherited its copies, or
// GiveBack's listeners hold theirs.
func (t *Taken) Close() {
	for _, f := range t.Files {
		f.Close()
	}
}

// Inherited is the TCP listening socket a re-exec handed over at fd
// (what: its flag, for messages), or nil when none was (fd 0).
func Inherited(fd int, what string) (net.Listener, error) {
	if fd <= 0 {
		return nil, nil
	}
	f := os.NewFile(uintptr(fd), what)
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("re-exec handover: %s listener: %w", what, err)
	}
	if _, ok := ln.(*net.TCPListener); !ok {
		ln.Close()
		return nil, fmt.Errorf("re-exec handover: %s: fd %d is not a TCP socket", what, fd)
	}
	return ln, nil
}
