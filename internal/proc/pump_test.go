package proc

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A pipe is enlarged only once its writer fills the default 64 KiB: a
// quiet service keeps the small one.
func TestPumpEnlargesOnlyTheFastWritersPipe(t *testing.T) {
	p, err := NewPump(func(any, any) {})
	if err != nil {
		t.Fatal(err)
	}
	go p.Run()
	defer p.Stop()
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
	p.drain(quiet, buf, true)
	p.drain(fast, buf, true)
	if got := size(quietR); got != defaultPipeSize {
		t.Errorf("the quiet pipe holds %d bytes, want %d", got, defaultPipeSize)
	}
	if got := size(fastR); got != roomyPipe {
		t.Errorf("the fast writer's pipe holds %d bytes, want %d", got, roomyPipe)
	}
	unix.Close(quietR)
	unix.Close(fastR)
}

// A logger that does not keep up pauses its pipe: the pump stops reading
// once the logger owes pauseOwed bytes of chunks, so the writer waits on
// the full pipe rather than the chunks piling up in the daemon; repaying
// resumes it, and every byte arrives.
func TestPumpPausesAPipeWhoseLoggerLags(t *testing.T) {
	var mu sync.Mutex
	var chunks []*Chunk
	p, err := NewPump(func(_ any, msg any) {
		if c, ok := msg.(*Chunk); ok {
			mu.Lock()
			chunks = append(chunks, c)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	go p.Run()
	defer p.Stop()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	r, w := fds[0], fds[1]
	unix.SetNonblock(r, true)
	if err := p.Add(r, nil, StreamOut); err != nil {
		t.Fatal(err)
	}
	const total = 16 << 20
	line := append(bytes.Repeat([]byte("z"), 999), '\n')
	wrote := make(chan error, 1)
	go func() {
		for n := 0; n < total; n += len(line) {
			if _, err := unix.Write(w, line); err != nil {
				wrote <- err
				return
			}
		}
		unix.Close(w)
		wrote <- nil
	}()
	p.mu.Lock()
	ps := p.pipes[int32(r)]
	p.mu.Unlock()
	end := time.Now().Add(20 * time.Second)
	for !ps.credit.paused.Load() {
		if time.Now().After(end) {
			t.Fatal("the pipe of a logger that repays nothing was never paused")
		}
		time.Sleep(time.Millisecond)
	}
	if owed := ps.credit.owed.Load(); owed > pauseOwed+4<<20 {
		t.Errorf("paused owing %d bytes, over %d and a chunk", owed, pauseOwed)
	}
	// Repay as a logger would, until the writer is done and the pump has
	// read the pipe to its end.
	got, writing := 0, true
	for {
		select {
		case err := <-wrote:
			if err != nil {
				t.Fatal(err)
			}
			writing = false
		default:
		}
		p.mu.Lock()
		_, open := p.pipes[int32(r)]
		p.mu.Unlock()
		mu.Lock()
		batch := chunks
		chunks = nil
		mu.Unlock()
		for _, c := range batch {
			got += len(c.Data)
			c.Credit.Repay(cap(c.Data))
		}
		if !writing && !open && len(batch) == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the pipe was not read to its end (writer done: %v)", !writing)
		}
		time.Sleep(time.Millisecond)
	}
	lines := (total + len(line) - 1) / len(line)
	if want := lines * (len(line) + len(Stamp(time.Now()))); got != want {
		t.Errorf("got %d bytes of lines, want %d", got, want)
	}
}

// A partial line handed over by a re-exec is cut like any other: a
// handover from a binary without the cut may carry more than LineMax.
func TestPumpAdoptCutsAHandedOverPartialLine(t *testing.T) {
	var mu sync.Mutex
	var chunks []*Chunk
	p, err := NewPump(func(_ any, msg any) {
		if c, ok := msg.(*Chunk); ok {
			mu.Lock()
			chunks = append(chunks, c)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	go p.Run()
	defer p.Stop()
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	partial := bytes.Repeat([]byte("p"), 5*LineMax+7)
	if err := p.Adopt(fds[0], nil, StreamOut, partial); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	kept := len(p.pipes[int32(fds[0])].lines.partial)
	p.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	if len(chunks) != 1 || chunks[0].Lines != 5 || kept != 7 {
		t.Fatalf("%d chunks, keeping %d bytes; want 5 lines sent and 7 bytes kept", len(chunks), kept)
	}
}

// TestPipesReusingAClosedPipesNumberAreKept: a pipe that ends frees its fd
// number, which the next pipe may get at once; that pipe must still be
// pumped to its end (the pump once forgot it, when it forgot the ended
// pipe by number after closing it).
func TestPipesReusingAClosedPipesNumberAreKept(t *testing.T) {
	var mu sync.Mutex
	closed := map[int]bool{}
	p, err := NewPump(func(owner, msg any) {
		if _, ok := msg.(*Closed); ok {
			mu.Lock()
			closed[owner.(int)] = true
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	go p.Run()
	defer p.Stop()
	const n = 3000
	for i := range n {
		var fds [2]int
		if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
			t.Fatal(err)
		}
		unix.Write(fds[1], []byte("a line\n"))
		unix.Close(fds[1])
		if err := p.Add(fds[0], i, StreamOut); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := len(closed)
		mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pipes were pumped to their end", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
