package probe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// FD is s6's notification fd: a pipe whose write end a service gets as
// descriptor N, and writes a newline to when it is ready.
type FD struct {
	r, w *os.File
}

// NewFD makes the pipe (both ends close-on-exec: the fork passes the
// write end on as descriptor N).
func NewFD() (*FD, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("notification fd: %w", err)
	}
	return &FD{r: r, w: w}, nil
}

// WriteEnd is the descriptor to pass to the process.
func (f *FD) WriteEnd() int { return int(f.w.Fd()) }

// CloseWriteEnd closes the daemon's copy of the write end, once the
// process has its own (else the pipe never ends).
func (f *FD) CloseWriteEnd() {
	if f.w != nil {
		f.w.Close()
		f.w = nil
	}
}

// Wait reads until a newline (nil), the end of the pipe, an error or
// Close, within a bound: the notification fd carries one line.
func (f *FD) Wait() error {
	buf := make([]byte, 512)
	for total := 0; total < 4096; {
		n, err := f.r.Read(buf)
		if bytes.IndexByte(buf[:n], '\n') >= 0 {
			return nil
		}
		total += n
		if err == io.EOF {
			return errors.New("end of file")
		}
		if err != nil {
			return err
		}
	}
	return errors.New("4096 bytes without a newline")
}

// Close closes both ends; a Wait in progress returns.
func (f *FD) Close() {
	f.CloseWriteEnd()
	f.r.Close()
}
