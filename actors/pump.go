package actors

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
)

// pump reads the output pipes of every service from one goroutine with
// epoll, turning bytes into timestamped lines for the owning logger. One
// goroutine for all pipes, rather than one blocked reader per service,
// keeps a burst of 1000 starts from waking 1000 goroutines on the other
// core while the monitor forks (it cost a third of the start time), and
// keeps memory flat.
type pump struct {
	epfd   int
	wakeFD int // eventfd: wakes the loop to stop
	send   func(*actor.PID, any)

	mu        sync.Mutex
	pipes     map[int32]*pipeState // guarded by mu
	detaching bool                 // guarded by mu: the wake-up means detach, not stop
	done      chan struct{}
}

type pipeState struct {
	fd     int
	logger *actor.PID
	lines  lineSplitter
	roomy  bool // the pipe was enlarged for a fast writer
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

func newPump(send func(*actor.PID, any)) (*pump, error) {
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
	return &pump{epfd: epfd, wakeFD: wake, send: send, pipes: map[int32]*pipeState{}, done: make(chan struct{})}, nil
}

// add starts pumping fd (a non-blocking read end) to logger. The pump owns
// fd from now on and closes it at EOF.
func (p *pump) add(fd int, logger *actor.PID) error {
	return p.adopt(fd, logger, nil)
}

// adopt is add for a pipe handed over by a re-exec, with the unfinished
// line already read from it.
func (p *pump) adopt(fd int, logger *actor.PID, partial []byte) error {
	p.mu.Lock()
	p.pipes[int32(fd)] = &pipeState{fd: fd, logger: logger, lines: lineSplitter{partial: partial}}
	p.mu.Unlock()
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}); err != nil {
		p.mu.Lock()
		delete(p.pipes, int32(fd))
		p.mu.Unlock()
		return fmt.Errorf("epoll: %w", err)
	}
	return nil
}

// run is the pump's loop; it returns after stop.
func (p *pump) run() {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	defer close(done)
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
				detaching := p.detaching
				p.mu.Unlock()
				if !detaching {
					p.closeAll()
				}
				return
			}
			p.mu.Lock()
			ps := p.pipes[ev.Fd]
			p.mu.Unlock()
			if ps != nil {
				p.drain(ps, buf)
			}
		}
	}
}

// drain reads what a pipe holds, up to a budget so that one fast writer
// cannot starve the others; epoll reports it again if more is left.
func (p *pump) drain(ps *pipeState, buf []byte) {
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
				p.send(ps.logger, &logChunk{Data: chunk, Lines: lines})
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
			p.send(ps.logger, &logChunk{Data: []byte(stamp(time.Now()) + "[shepherd: output read error: " + err.Error() + "]\n"), Lines: 1})
		}
		p.finish(ps)
		return
	}
}

func (p *pump) finish(ps *pipeState) {
	if last := ps.lines.flush(time.Now()); len(last) > 0 {
		p.send(ps.logger, &logChunk{Data: last, Lines: 1})
	}
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, ps.fd, nil)
	unix.Close(ps.fd)
	p.mu.Lock()
	delete(p.pipes, int32(ps.fd))
	p.mu.Unlock()
	p.send(ps.logger, &outputClosed{})
}

func (p *pump) closeAll() {
	p.mu.Lock()
	pipes := make([]*pipeState, 0, len(p.pipes))
	for _, ps := range p.pipes {
		pipes = append(pipes, ps)
	}
	p.mu.Unlock()
	buf := make([]byte, 1<<20)
	for _, ps := range pipes {
		p.drain(ps, buf) // what is already written is not lost
		p.mu.Lock()
		_, open := p.pipes[int32(ps.fd)]
		p.mu.Unlock()
		if open {
			p.finish(ps)
		}
	}
}

// detach ends the loop without reading or closing anything and returns
// the pipes (for a re-exec); resume starts it again with them.
func (p *pump) detach() []*pipeState {
	p.interrupt(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	pipes := make([]*pipeState, 0, len(p.pipes))
	for _, ps := range p.pipes {
		pipes = append(pipes, ps)
	}
	return pipes
}

// resume restarts the loop after detach, on the daemon's goroutine runner.
func (p *pump) resume(goGo func(func())) {
	p.mu.Lock()
	p.detaching = false
	p.done = make(chan struct{})
	p.mu.Unlock()
	goGo(p.run)
}

// stop ends the loop, flushing and closing every pipe, and waits for it.
func (p *pump) stop() {
	p.interrupt(false)
	unix.Close(p.epfd)
	unix.Close(p.wakeFD)
}

// interrupt wakes the loop to end it, to detach or to stop, and waits for
// it to end.
func (p *pump) interrupt(detach bool) {
	p.mu.Lock()
	p.detaching = detach
	done := p.done
	p.mu.Unlock()
	unix.Write(p.wakeFD, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	<-done
}

func stamp(t time.Time) string { return t.Format(logTimeLayout) + " " }

// lineSplitter cuts a byte stream into lines, keeping an unfinished last
// line for the next chunk.
type lineSplitter struct{ partial []byte }

// feed returns the complete lines in data, each prefixed with the time and
// ending with a newline, in one buffer from getChunk: a fast writer costs
// one message per read, not per line, and no garbage. It also says how
// many lines that is.
func (s *lineSplitter) feed(data []byte, now time.Time) ([]byte, int) {
	last := bytes.LastIndexByte(data, '\n')
	if last < 0 {
		s.partial = append(s.partial, data...)
		return nil, 0
	}
	var prefix [len(logTimeLayout) + 1]byte
	now.AppendFormat(prefix[:0], logTimeLayout)
	prefix[len(logTimeLayout)] = ' '
	complete := data[:last+1]
	lines := bytes.Count(complete, []byte{'\n'})
	out := getChunk(len(s.partial) + len(complete) + lines*len(prefix))
	out = out[:cap(out)]
	// The first line continues what the previous read left unfinished.
	w := copy(out, prefix[:])
	w += copy(out[w:], s.partial)
	s.partial = s.partial[:0]
	// This loop is the cost of capture per line: a fixed-size store for
	// the stamp, one scan and one copy.
	for {
		i := bytes.IndexByte(complete, '\n') + 1
		w += copy(out[w:], complete[:i])
		complete = complete[i:]
		if len(complete) == 0 {
			break
		}
		*(*[len(prefix)]byte)(out[w:]) = prefix
		w += len(prefix)
	}
	s.partial = append(s.partial, data[last+1:]...)
	return out[:w], lines
}

// flush returns the unfinished line, if any, timestamped and terminated.
func (s *lineSplitter) flush(now time.Time) []byte {
	if len(s.partial) == 0 {
		return nil
	}
	out := append([]byte(stamp(now)), s.partial...)
	s.partial = nil
	return append(out, '\n')
}
