package actors

import (
	"bufio"
	"os"
	"path/filepath"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// logTimeLayout prefixes every captured line (design §5).
const logTimeLayout = "2006-01-02 15:04:05"

// ringSize is how many recent lines a logger keeps for status and log -n.
const ringSize = 1000

// outputOpened tells a logger a new process's output pipe is being pumped.
type outputOpened struct{}

// logLines carries timestamped lines from the pump to a logger.
type logLines struct{ Lines []string }

// outputClosed says a pipe reached EOF (all writers gone).
type outputClosed struct{}

// recentLines asks for the last N lines.
type recentLines struct {
	N     int
	Reply chan<- []string
}

// closeLog flushes and closes the log file (at shutdown).
type closeLog struct{ Done chan<- struct{} }

// fillRecent completes a status with the last N lines and sends it.
type fillRecent struct {
	Status wire.Status
	N      int
	ReqID  uint64
	Reply  chan<- wire.Reply
}

// followLog subscribes Ch to new lines; unfollowLog ends it. A follower that
// falls behind by more than its channel's buffer is dropped (its channel is
// closed) rather than slowing the service down.
type followLog struct{ Ch chan []string }
type unfollowLog struct{ Ch chan []string }

type loggerState struct {
	path      string
	gid       int // group of the log file, or -1
	file      *os.File
	w         *bufio.Writer
	ring      []string // circular, next write at head once full
	head      int
	readers   int
	followers map[chan []string]bool
	logf      func(string, ...any)
}

// logger owns one service's log file and its ring of recent lines.
type logger struct{ st *loggerState }

func newLoggerProps(path string, gid int, logf func(string, ...any)) *actor.Props {
	st := &loggerState{path: path, gid: gid, logf: logf, followers: map[chan []string]bool{}}
	return actor.PropsFromProducer(func() actor.Actor { return &logger{st: st} })
}

func (l *logger) Receive(ctx actor.Context) {
	st := l.st
	switch msg := ctx.Message().(type) {
	case *outputOpened:
		st.readers++
	case *logLines:
		st.write(msg.Lines)
	case *outputClosed:
		st.readers--
		if st.readers == 0 {
			st.close()
		}
	case *recentLines:
		msg.Reply <- st.recent(msg.N)
	case *fillRecent:
		msg.Status.Recent = st.recent(msg.N)
		msg.Reply <- wire.OKReply(msg.ReqID, msg.Status)
	case *followLog:
		st.followers[msg.Ch] = true
	case *unfollowLog:
		if st.followers[msg.Ch] {
			delete(st.followers, msg.Ch)
			close(msg.Ch)
		}
	case *closeLog:
		st.close()
		msg.Done <- struct{}{}
	case *actor.Stopping:
		st.close()
	}
}

func (st *loggerState) write(lines []string) {
	if st.file == nil && st.path != "" {
		if err := os.MkdirAll(filepath.Dir(st.path), 0o755); err != nil {
			st.logf("log file %s: %v", st.path, err)
		}
		f, err := os.OpenFile(st.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			st.logf("log file %s: %v", st.path, err)
			st.path = "" // say it once; keep the ring going
		} else {
			st.file, st.w = f, bufio.NewWriterSize(f, 64<<10)
			if st.gid >= 0 {
				if err := f.Chown(-1, st.gid); err != nil {
					st.logf("log file %s: %v", st.path, err)
				}
			}
		}
	}
	for _, line := range lines {
		if st.w != nil {
			st.w.WriteString(line)
			st.w.WriteByte('\n')
		}
		if len(st.ring) < ringSize {
			st.ring = append(st.ring, line)
		} else {
			st.ring[st.head] = line
			st.head = (st.head + 1) % ringSize
		}
	}
	if st.w != nil {
		if err := st.w.Flush(); err != nil {
			st.logf("log file %s: %v", st.path, err)
		}
	}
	for ch := range st.followers {
		select {
		case ch <- lines:
		default:
			delete(st.followers, ch)
			close(ch)
		}
	}
}

func (st *loggerState) recent(n int) []string {
	if n > len(st.ring) {
		n = len(st.ring)
	}
	out := make([]string, 0, n)
	start := (st.head + len(st.ring) - n) % max(len(st.ring), 1)
	for i := range n {
		out = append(out, st.ring[(start+i)%len(st.ring)])
	}
	return out
}

func (st *loggerState) close() {
	if st.file != nil {
		st.w.Flush()
		st.file.Close()
		st.file, st.w = nil, nil
	}
}
