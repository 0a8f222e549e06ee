package actors

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// logTimeLayout prefixes every captured line (design §5).
const logTimeLayout = "2006-01-02 15:04:05"

// ringSize is how many recent lines a logger keeps for status and log -n.
const ringSize = 1000

// outputOpened tells a logger a new process's output pipe is being pumped.
type outputOpened struct{}

// logChunk carries complete timestamped lines, each ending with a newline,
// from the pump to a logger.
type logChunk struct{ Data []byte }

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

// followLog subscribes Ch to new chunks of lines; unfollowLog ends it. A
// follower that falls behind by more than its channel's buffer is dropped
// (its channel is closed) rather than slowing the service down.
type followLog struct{ Ch chan []byte }
type unfollowLog struct{ Ch chan []byte }

type loggerState struct {
	path   string
	gid    int // group of the log file, or -1
	rotate services.LogRotate
	file   *os.File
	size   int64 // of the open file
	// recent holds the last chunks, enough for ringSize lines.
	recentChunks [][]byte
	recentLines  int
	readers      int
	followers    map[chan []byte]bool
	logf         func(string, ...any)
}

// logger owns one service's log file and its ring of recent lines.
type logger struct{ st *loggerState }

func newLoggerProps(path string, gid int, rotate services.LogRotate, logf func(string, ...any)) *actor.Props {
	st := &loggerState{path: path, gid: gid, rotate: rotate, logf: logf, followers: map[chan []byte]bool{}}
	return actor.PropsFromProducer(func() actor.Actor { return &logger{st: st} })
}

func (l *logger) Receive(ctx actor.Context) {
	st := l.st
	switch msg := ctx.Message().(type) {
	case *outputOpened:
		st.readers++
	case *logChunk:
		st.write(msg.Data)
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
		unfollow(st.followers, msg.Ch)
	case *closeLog:
		st.close()
		msg.Done <- struct{}{}
	case *actor.Stopping:
		st.close()
	}
}

func (st *loggerState) write(data []byte) {
	st.writeFile(data)
	st.recentChunks = append(st.recentChunks, data)
	st.recentLines += bytes.Count(data, []byte{'\n'})
	for len(st.recentChunks) > 1 {
		first := bytes.Count(st.recentChunks[0], []byte{'\n'})
		if st.recentLines-first < ringSize {
			break
		}
		st.recentChunks, st.recentLines = st.recentChunks[1:], st.recentLines-first
	}
	fanOut(st.followers, data)
}

// recent returns the last n lines (without their newlines).
func (st *loggerState) recent(n int) []string {
	var out []string
	for i := len(st.recentChunks) - 1; i >= 0 && len(out) < n; i-- {
		lines := splitLines(st.recentChunks[i])
		for j := len(lines) - 1; j >= 0 && len(out) < n; j-- {
			out = append(out, lines[j])
		}
	}
	slices.Reverse(out)
	return out
}

// splitLines cuts a chunk of newline-terminated lines.
func splitLines(chunk []byte) []string {
	return strings.Split(strings.TrimSuffix(string(chunk), "\n"), "\n")
}

// open opens the log file if it is not open.
func (st *loggerState) open() {
	if st.file != nil || st.path == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(st.path), 0o755); err != nil {
		st.logf("log file %s: %v", st.path, err)
	}
	f, err := os.OpenFile(st.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		st.logf("log file %s: %v", st.path, err)
		st.path = "" // say it once; keep the recent lines going
		return
	}
	st.file, st.size = f, 0
	if fi, err := f.Stat(); err == nil {
		st.size = fi.Size()
	}
	if st.gid >= 0 {
		if err := f.Chown(-1, st.gid); err != nil {
			st.logf("log file %s: %v", st.path, err)
		}
	}
}

// writeFile appends whole lines to the log file, rotating it where the
// next line would pass the size limit: a rotation never splits or loses a
// line (a single line longer than the limit gets a file of its own).
func (st *loggerState) writeFile(data []byte) {
	for len(data) > 0 {
		st.open()
		if st.file == nil {
			return
		}
		part := data
		if lim := st.rotate.Size; lim > 0 && st.size+int64(len(data)) > lim {
			room := max(lim-st.size, 0)
			cut := bytes.LastIndexByte(data[:min(int64(len(data)), room)], '\n')
			switch {
			case cut >= 0:
				part = data[:cut+1]
			case st.size > 0:
				st.rotateFiles() // the next line does not fit: start afresh
				continue
			default:
				part = data[:bytes.IndexByte(data, '\n')+1]
			}
		}
		n, err := st.file.Write(part)
		st.size += int64(n)
		if err != nil {
			st.logf("log file %s: %v", st.path, err)
			return
		}
		data = data[len(part):]
		if st.rotate.Size > 0 && st.size >= st.rotate.Size {
			st.rotateFiles()
		}
	}
}

// rotateFiles shifts NAME.log.(k) to NAME.log.(k+1), drops the oldest and
// starts a new NAME.log at the next write.
func (st *loggerState) rotateFiles() {
	st.close()
	os.Remove(fmt.Sprintf("%s.%d", st.path, st.rotate.Keep))
	for k := st.rotate.Keep - 1; k >= 1; k-- {
		os.Rename(fmt.Sprintf("%s.%d", st.path, k), fmt.Sprintf("%s.%d", st.path, k+1))
	}
	if err := os.Rename(st.path, st.path+".1"); err != nil {
		st.logf("log file %s: rotate: %v", st.path, err)
	}
}

func (st *loggerState) close() {
	if st.file != nil {
		st.file.Close()
		st.file = nil
	}
}
