package proc

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Pump reads the output pipes of every service from one goroutine with
// epoll, turning bytes into timestamped lines for each pipe's owner (its
// service's logger): a *Chunk of whole lines per read, then Closed at the
// end. One
// goroutine for all pipes, rather than one blocked reader per service,
// keeps a burst of 1000 starts from waking 1000 goroutines on the other
// core while the monitor forks (it cost a third of the start time), and
// keeps memory flat.
type Pump struct {
	epfd    int
	wakeFD  int // eventfd: wakes the loop to stop
	deliver func(owner, msg any)

	mu        sync.Mutex
	pipes     map[int32]*pipeState // guarded by mu
	ending    bool                 // guarded by mu: the wake-up ends the loop
	detaching bool                 // guarded by mu: the end is a detach, not a stop
	resumes   []*pipeState         // guarded by mu: paused pipes to read again
	done      chan struct{}
}

type pipeState struct {
	fd     int
	owner  any
	stream Stream
	lines  lineSplitter
	roomy  bool // the pipe was enlarged for a fast writer
	credit Credit
}

// Chunk is whole lines of a pipe's output, each timestamped and ended by
// a newline. Its owner writes Data, then calls Credit.Repay (if Credit is
// set) and PutChunk(Data) once done with it.
type Chunk struct {
	Data   []byte
	Lines  int
	Credit *Credit
	// Stream is the pipe's: the whole output, or stderr alone.
	Stream Stream
}

// Stream says what a pipe carries of a process's output.
type Stream uint8

const (
	// StreamOut is the process's output: stdout, and stderr too unless
	// it has a pipe of its own.
	StreamOut Stream = iota
	// StreamErr is stderr alone (stderr-log-file; an inetd-style
	// connection's process, whose stdout is the connection).
	StreamErr
)

// Opened tells a pipe's owner that a pipe is about to be pumped to it,
// before the pump could report its end: the owner counts the pipes it
// has open. Whoever adds the pipe sends it (the pump does not).
type Opened struct{}

// Closed says that every writer of a pipe is gone: no chunk of it follows.
type Closed struct{}

// A logger that falls behind its pipe (a slow disk, a writer faster than
// the file) would otherwise see the chunks queue in its mailbox without
// limit. Each pipe may have at most pauseOwed bytes of chunks (by
// capacity) sent and not yet written; beyond that the pump stops reading
// it, and the writer waits on the full pipe, until the logger has written
// all but resumeOwed of them.
const (
	pauseOwed  = 2 << 20
	resumeOwed = 512 << 10
)

// Credit counts what a pipe's owner owes: chunks sent to it and not yet
// written. The owner repays each chunk once written.
type Credit struct {
	owed   atomic.Int64
	paused atomic.Bool // the pipe is out of the epoll set until repaid
	pipe   *pipeState
	pump   *Pump
}

// Repay is called by the owner once it has written a chunk of capacity
// n; the last repayment a paused pipe waits for asks the pump to read it
// again.
func (c *Credit) Repay(n int) {
	if c.owed.Add(-int64(n)) <= resumeOwed && c.paused.CompareAndSwap(true, false) {
		c.pump.resume1(c.pipe)
	}
}

// resume1 asks the loop to put a paused pipe back into the epoll set.
func (p *Pump) resume1(ps *pipeState) {
	p.mu.Lock()
	p.resumes = append(p.resumes, ps)
	p.mu.Unlock()
	unix.Write(p.wakeFD, []byte{1, 0, 0, 0, 0, 0, 0, 0})
}

// sendChunk sends lines to the pipe's logger, and reports whether the
// logger owes so much that the pipe was paused.
func (p *Pump) sendChunk(ps *pipeState, data []byte, lines int) bool {
	c := &ps.credit
	owed := c.owed.Add(int64(cap(data)))
	p.deliver(ps.owner, &Chunk{Data: data, Lines: lines, Credit: c, Stream: ps.stream})
	if owed <= pauseOwed {
		return false
	}
	c.paused.Store(true)
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, ps.fd, nil)
	// The logger may have caught up since: then nobody would resume it.
	if c.owed.Load() <= resumeOwed && c.paused.CompareAndSwap(true, false) {
		p.arm(ps)
		return false
	}
	return true
}

// arm puts a pipe into the epoll set.
func (p *Pump) arm(ps *pipeState) error {
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, ps.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(ps.fd)})
}

// roomyPipe is the size a pipe gets once its writer fills it: room to go
// on while the pump catches up (at most /proc/sys/fs/pipe-max-size). Only
// a writer that filled the default 64 KiB gets it: a thousand quiet
// services would hold 10 MB of kernel memory in pipe rings for nothing,
// and a start paid a syscall for it.
const (
	roomyPipe       = 1 << 20
	defaultPipeSize = 64 << 10
)

// NewPump makes a pump whose loop (Run) hands each pipe's chunks and its
// end to deliver, with the pipe's owner, from the loop's goroutine.
func NewPump(deliver func(owner, msg any)) (*Pump, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return &Pump{epfd: epfd, wakeFD: wake, deliver: deliver, pipes: map[int32]*pipeState{}, done: make(chan struct{})}, nil
}

// Add starts pumping fd (a non-blocking read end) to owner. The pump owns
// fd from now on and closes it at EOF. Its chunks are of stream.
func (p *Pump) Add(fd int, owner any, stream Stream) error {
	return p.Adopt(fd, owner, stream, nil)
}

// Adopt is Add for a pipe handed over by a re-exec, with the unfinished
// line already read from it. That line is cut like any other: a handover
// from a binary without the cut may carry more than LineMax of it.
func (p *Pump) Adopt(fd int, owner any, stream Stream, partial []byte) error {
	ps := &pipeState{fd: fd, owner: owner, stream: stream}
	ps.credit.pipe, ps.credit.pump = ps, p
	if chunk, n := ps.lines.feed(partial, time.Now()); n > 0 {
		p.deliver(owner, &Chunk{Data: chunk, Lines: n, Stream: stream})
	}
	p.mu.Lock()
	p.pipes[int32(fd)] = ps
	p.mu.Unlock()
	if err := p.arm(ps); err != nil {
		p.mu.Lock()
		delete(p.pipes, int32(fd))
		p.mu.Unlock()
		return fmt.Errorf("epoll: %w", err)
	}
	return nil
}

// Run is the pump's loop; it returns after Stop or Detach.
func (p *Pump) Run() {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	defer close(done)
	// Repayments that came while the loop was detached.
	p.resumePaused()
	events := make([]unix.EpollEvent, 128)
	// A quarter of a roomy pipe per read: a read holds the pipe's lock for its
	// whole copy, and smaller ones let a fast writer refill the pipe
	// meanwhile (a whole megabyte per read measured 5% slower).
	buf := make([]byte, 1<<18)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		for _, ev := range events[:n] {
			if int(ev.Fd) == p.wakeFD {
				var b [8]byte
				unix.Read(p.wakeFD, b[:])
				p.mu.Lock()
				ending, detaching := p.ending, p.detaching
				p.ending = false
				p.mu.Unlock()
				if !ending {
					p.resumePaused()
					continue
				}
				if !detaching {
					p.closeAll()
				}
				return
			}
			p.mu.Lock()
			ps := p.pipes[ev.Fd]
			p.mu.Unlock()
			if ps != nil && !ps.credit.paused.Load() {
				p.drain(ps, buf, true)
			}
		}
	}
}

// resumePaused puts the pipes whose loggers caught up back into the epoll
// set.
func (p *Pump) resumePaused() {
	p.mu.Lock()
	resumes := p.resumes
	p.resumes = nil
	p.mu.Unlock()
	for _, ps := range resumes {
		p.mu.Lock()
		open := p.pipes[int32(ps.fd)] == ps
		p.mu.Unlock()
		if open && !ps.credit.paused.Load() {
			p.arm(ps)
		}
	}
}

// drain reads what a pipe holds, up to a budget so that one fast writer
// cannot starve the others; epoll reports it again if more is left. With
// credit, it stops when the pipe's logger owes too much (see pauseOwed).
func (p *Pump) drain(ps *pipeState, buf []byte, credit bool) {
	for range 16 {
		n, err := unix.Read(ps.fd, buf)
		// A read of nearly the whole default pipe (atomic writes leave
		// up to a page unused) means the writer filled it.
		if !ps.roomy && n > defaultPipeSize-4096 {
			ps.roomy = true
			unix.FcntlInt(uintptr(ps.fd), unix.F_SETPIPE_SZ, roomyPipe)
		}
		if n > 0 {
			if chunk, lines := ps.lines.feed(buf[:n], time.Now()); lines > 0 {
				if p.sendChunk(ps, chunk, lines) && credit {
					return
				}
			}
		}
		switch {
		case n > 0 && err == nil:
			continue
		case errors.Is(err, unix.EAGAIN):
			return
		case errors.Is(err, unix.EINTR):
			continue
		}
		// EOF (n == 0) or a read error: every writer is gone.
		if err != nil {
			p.deliver(ps.owner, &Chunk{Data: []byte(Stamp(time.Now()) + "[shepherd: output read error: " + err.Error() + "]\n"), Lines: 1, Stream: ps.stream})
		}
		p.finish(ps)
		return
	}
}

func (p *Pump) finish(ps *pipeState) {
	if last := ps.lines.flush(time.Now()); len(last) > 0 {
		p.deliver(ps.owner, &Chunk{Data: last, Lines: 1, Stream: ps.stream})
	}
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, ps.fd, nil) // ENOENT when paused
	// Forgotten before it is closed: once closed, its number may be given
	// to a new pipe, which Add then registers under it.
	p.mu.Lock()
	if p.pipes[int32(ps.fd)] == ps {
		delete(p.pipes, int32(ps.fd))
	}
	p.mu.Unlock()
	unix.Close(ps.fd)
	p.deliver(ps.owner, &Closed{})
}

func (p *Pump) closeAll() {
	p.mu.Lock()
	pipes := make([]*pipeState, 0, len(p.pipes))
	for _, ps := range p.pipes {
		pipes = append(pipes, ps)
	}
	p.mu.Unlock()
	buf := make([]byte, 1<<20)
	for _, ps := range pipes {
		p.drain(ps, buf, false) // what is already written is not lost
		p.mu.Lock()
		_, open := p.pipes[int32(ps.fd)]
		p.mu.Unlock()
		if open {
			p.finish(ps)
		}
	}
}

// Pipe is an open pipe of a detached pump: its fd, its owner and the
// unfinished line read from it.
type Pipe struct {
	FD      int
	Owner   any
	Stream  Stream
	Partial []byte
}

// Detach ends the loop without reading or closing anything and returns
// the pipes (for a re-exec); Resume starts it again with them.
func (p *Pump) Detach() []Pipe {
	p.interrupt(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	pipes := make([]Pipe, 0, len(p.pipes))
	for _, ps := range p.pipes {
		pipes = append(pipes, Pipe{FD: ps.fd, Owner: ps.owner, Stream: ps.stream, Partial: ps.lines.partial})
	}
	return pipes
}

// Resume restarts the loop after Detach, on the caller's goroutine runner.
func (p *Pump) Resume(goGo func(func())) {
	p.mu.Lock()
	p.detaching = false
	p.done = make(chan struct{})
	p.mu.Unlock()
	goGo(p.Run)
}

// Stop ends the loop, flushing and closing every pipe, and waits for it.
func (p *Pump) Stop() {
	p.interrupt(false)
	unix.Close(p.epfd)
	unix.Close(p.wakeFD)
}

// interrupt wakes the loop to end it, to detach or to stop, and waits for
// it to end.
func (p *Pump) interrupt(detach bool) {
	p.mu.Lock()
	p.ending, p.detaching = true, detach
	done := p.done
	p.mu.Unlock()
	unix.Write(p.wakeFD, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	<-done
}

// TimeLayout is the time stamp of every log line: the daemon's own and
// its services'.
const TimeLayout = "2006-01-02 15:04:05"

// Stamp is a log line's time stamp and the space after it.
func Stamp(t time.Time) string { return t.Format(TimeLayout) + " " }

// LineMax is the longest line kept whole. A longer line, finished or
// not, is cut into pieces of at most LineMax bytes, each written as a line
// of its own with its own timestamp (Docker cuts at the same size): a
// service printing without newlines cannot make the daemon hold more
// than this of it. A cut is moved back (by at most 3 bytes) to the start
// of a UTF-8 character, so a piece never ends in half a character of
// valid text. docs/config.md documents it.
const LineMax = 16 << 10

// lineSplitter cuts a byte stream into lines, keeping an unfinished last
// line (at most LineMax bytes) for the next chunk.
type lineSplitter struct{ partial []byte }

// feed returns the complete lines in data, each prefixed with the time and
// ending with a newline, in one buffer from GetChunk: a fast writer costs
// one message per read, not per line, and no garbage. It also says how
// many lines that is. Lines longer than LineMax come out in pieces.
func (s *lineSplitter) feed(data []byte, now time.Time) ([]byte, int) {
	if bytes.IndexByte(data, '\n') < 0 && len(s.partial)+len(data) <= LineMax {
		s.partial = append(s.partial, data...)
		return nil, 0
	}
	var prefix [len(TimeLayout) + 1]byte
	now.AppendFormat(prefix[:0], TimeLayout)
	prefix[len(TimeLayout)] = ' '
	// Room for every byte, and a stamp and a newline for each line: one
	// per newline plus one per cut (a piece is at least
	// LineMax-utf8.UTFMax+1 bytes long).
	total := len(s.partial) + len(data)
	most := bytes.Count(data, []byte{'\n'}) + total/(LineMax-utf8.UTFMax+1) + 1
	out := GetChunk(total + most*(len(prefix)+1))
	out = out[:cap(out)]
	w, lines := 0, 0
	// head is what an earlier read left of the first line.
	head, rest := s.partial, data
	// This loop is the cost of capture per line: a fixed-size store for
	// the stamp, one scan and one copy.
	for len(rest) > 0 {
		nl := bytes.IndexByte(rest, '\n')
		if nl >= 0 && len(head)+nl <= LineMax {
			*(*[len(prefix)]byte)(out[w:]) = prefix
			w += len(prefix)
			if len(head) > 0 {
				w += copy(out[w:], head)
				head = nil
			}
			w += copy(out[w:], rest[:nl+1])
			rest = rest[nl+1:]
			lines++
			continue
		}
		if nl < 0 && len(head)+len(rest) <= LineMax {
			// Unfinished and short enough: kept for the next read.
			s.partial = append(append(s.partial[:0], head...), rest...)
			return out[:w], lines
		}
		// Too long: a piece of LineMax bytes.
		n := cutAt(rest, LineMax-len(head), len(head) == 0)
		*(*[len(prefix)]byte)(out[w:]) = prefix
		w += len(prefix)
		w += copy(out[w:], head)
		w += copy(out[w:], rest[:n])
		out[w] = '\n'
		w++
		lines++
		head = nil
		rest = rest[n:]
	}
	s.partial = s.partial[:0]
	return out[:w], lines
}

// cutAt is where to cut b, a line's bytes of which at most k fit: k, or
// up to 3 bytes earlier where a UTF-8 character starts. With nonEmpty the
// cut keeps at least one byte.
func cutAt(b []byte, k int, nonEmpty bool) int {
	lo := max(k-(utf8.UTFMax-1), 0)
	if nonEmpty {
		lo = max(lo, 1)
	}
	for j := k; j >= lo; j-- {
		if utf8.RuneStart(b[j]) {
			return j
		}
	}
	return k
}

// flush returns the unfinished line, if any, timestamped and terminated.
func (s *lineSplitter) flush(now time.Time) []byte {
	if len(s.partial) == 0 {
		return nil
	}
	out := append([]byte(Stamp(now)), s.partial...)
	s.partial = nil
	return append(out, '\n')
}
