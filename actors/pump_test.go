package actors

import (
	"bytes"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
)

// A pipe is enlarged only once its writer fills the default 64 KiB: a
// quiet service keeps the small one.
func TestPumpEnlargesOnlyTheFastWritersPipe(t *testing.T) {
	p, err := newPump(func(*actor.PID, any) {})
	if err != nil {
		t.Fatal(err)
	}
	go p.run()
	defer p.stop()
	pipe := func() (r, w int) {
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fds[1]) })
		return fds[0], fds[1]
	}
	size := func(fd int) int {
		n, err := unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	quietR, quietW := pipe()
	fastR, fastW := pipe()
	if size(fastR) != defaultPipeSize {
		t.Fatalf("a new pipe holds %d bytes, not the %d this test expects", size(fastR), defaultPipeSize)
	}
	unix.Write(quietW, []byte("one line\n"))
	line := append(bytes.Repeat([]byte("x"), 99), '\n')
	for {
		if _, err := unix.Write(fastW, line); err != nil {
			break // full: EAGAIN
		}
	}
	buf := make([]byte, 1<<18)
	quiet := &pipeState{fd: quietR}
	fast := &pipeState{fd: fastR}
	p.drain(quiet, buf)
	p.drain(fast, buf)
	if got := size(quietR); got != defaultPipeSize {
		t.Errorf("the quiet pipe holds %d bytes, want %d", got, defaultPipeSize)
	}
	if got := size(fastR); got != roomyPipe {
		t.Errorf("the fast writer's pipe holds %d bytes, want %d", got, roomyPipe)
	}
	unix.Close(quietR)
	unix.Close(fastR)
}
