package logger

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/internal/follow"

	"github.com/shepherd-go/shepherd/internal/proc"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// ringSize is how many recent lines a logger keeps for status and log -n,
// within ringBytes of chunks (the newest chunk is always kept): lines are
// at most proc.LineMax long, but a thousand of them would still be 16 MiB a
// service.
const (
	ringSize  = 1000
	ringBytes = 1 << 20
)

// RecentLines asks for the last N lines.
type RecentLines struct {
	N     int
	Reply chan<- []string
}

// CloseLog flushes and closes the log file (at shutdown).
type CloseLog struct{ Done chan<- struct{} }

// What a re-exec hands over of each ring of recent lines: the last
// HandedLines lines, within HandedBytes. The handover file holds them for
// every service (a thousand services: at most 64 MiB, a few hundred
// bytes each for most), so not the whole ring (up to 1 MiB each); the
// log file has everything.
const (
	HandedLines = 10
	HandedBytes = 64 << 10
)

// SaveRecent asks a logger for the newest lines of its ring, whole and
// newline-terminated, at most Lines of them within Bytes (a re-exec
// hands them over).
type SaveRecent struct {
	Lines, Bytes int
	Reply        chan<- SavedRecent
}

// SavedRecent answers SaveRecent.
type SavedRecent struct {
	Name string
	Data []byte
}

// RestoreRecent gives a new logger the lines a re-exec handed over
// (SavedRecent's Data); they come before any new output in its ring.
type RestoreRecent struct{ Data []byte }

// FillRecent completes a status with the last N lines and sends it.
type FillRecent struct {
	Status wire.Status
	N      int
	ReqID  uint64
	Seq    uint64
	Reply  chan<- wire.Reply
}

// FollowLog subscribes Ch to new chunks of lines; UnfollowLog ends it. A
// follower that falls behind by more than its channel's buffer is dropped
// (its channel is closed) rather than slowing the service down.
type FollowLog struct{ Ch chan []byte }
type UnfollowLog struct{ Ch chan []byte }

type loggerState struct {
	name string // the service's
	// out is the log file; errOut, for a service with stderr-log-file,
	// the file its stderr goes to (logfile.go).
	out    logFile
	errOut *logFile
	// syslog, for `log: syslog` or `both`, sends lines to the system
	// log (syslog.go).
	syslog *syslogSink
	// recent holds the last chunks, enough for ringSize lines.
	recent      []*proc.Chunk
	recentLines int
	recentBytes int // capacity of the chunks in recent
	readers     int
	followers   follow.Set[[]byte]
	logf        func(string, ...any)
	// failures are failed starts' answers waiting for the output's end
	// (failure.go).
	failures []*FillFailure
	// endWaits are the AwaitEnds waiting for the output's end (end.go),
	// each buffered.
	endWaits []chan<- struct{}
}

// logger owns one service's log file and its ring of recent lines.
type logger struct{ st *loggerState }

// NewProps makes the logger of service name, writing to the log file at
// path (of group gid, or -1 to leave it), rotated as rotate says.
func NewProps(name, path string, gid int, rotate services.LogRotate, logf func(string, ...any)) *actor.Props {
	return NewFilesProps(name, Files{Path: path, GID: gid, Rotate: rotate}, logf)
}

// Files are where a service's output goes.
type Files struct {
	// Path is the log file. StderrPath, when set, is the file stderr
	// goes to instead (stderr-log-file; proc.StreamErr chunks).
	Path, StderrPath string
	// Syslog, when set, is the system log's socket (/dev/log) the lines
	// go to as well; with Path empty, only there.
	Syslog string
	// GID is the group of the files, or -1 to leave it.
	GID int
	// Rotate applies to both files.
	Rotate services.LogRotate
}

// NewFilesProps makes the logger of service name, writing to files.
func NewFilesProps(name string, files Files, logf func(string, ...any)) *actor.Props {
	st := newLoggerState(name, files, logf)
	return actor.PropsFromProducer(func() actor.Actor { return &logger{st: st} })
}

func newLoggerState(name string, files Files, logf func(string, ...any)) *loggerState {
	st := &loggerState{name: name, logf: logf, followers: follow.Set[[]byte]{}}
	st.out = logFile{service: name, path: files.Path, gid: files.GID, rotate: files.Rotate, logf: logf}
	// The same file twice would be two writers rotating one file.
	if files.StderrPath != "" && filepath.Clean(files.StderrPath) != filepath.Clean(files.Path) {
		st.errOut = &logFile{service: name, path: files.StderrPath, gid: files.GID, rotate: files.Rotate, logf: logf}
	}
	if files.Syslog != "" {
		st.syslog = newSyslogSink(name, files.Syslog, logf)
	}
	return st
}

func (l *logger) Receive(ctx actor.Context) {
	st := l.st
	switch msg := ctx.Message().(type) {
	case *proc.Opened:
		st.readers++
		// Open now, so that a log file that cannot be written is reported
		// when the process starts, not at its first line.
		st.out.open()
		if st.errOut != nil {
			st.errOut.open()
		}
		if st.syslog != nil {
			st.syslog.connect(time.Now())
		}
	case *proc.Chunk:
		st.write(msg)
	case *proc.Closed:
		st.readers--
		if st.readers == 0 {
			st.close()
			st.flushFailures()
			st.flushEndWaits()
		}
	case *FillFailure:
		st.fillFailure(ctx, msg)
	case *flushFailures:
		st.flushFailures()
	case *AwaitEnd:
		st.awaitEnd(ctx, msg)
	case *endWaitsDue:
		st.flushEndWaits()
	case *RecentLines:
		msg.Reply <- st.lastLines(msg.N)
	case *FillRecent:
		msg.Status.Recent = st.lastLines(msg.N)
		msg.Status.LogError = st.problem()
		rep := wire.OKReply(msg.ReqID, msg.Status)
		rep.Seq = msg.Seq
		msg.Reply <- rep
	case *FollowLog:
		st.followers[msg.Ch] = true
	case *UnfollowLog:
		st.followers.Remove(msg.Ch)
	case *CloseLog:
		st.close()
		msg.Done <- struct{}{}
	case *SaveRecent:
		msg.Reply <- SavedRecent{Name: st.name, Data: st.lastBytes(msg.Lines, msg.Bytes)}
	case *RestoreRecent:
		st.restore(msg.Data)
	case *actor.Stopping:
		st.close()
		st.flushFailures()
		st.flushEndWaits()
	}
}

// write takes ownership of c's data, a chunk from the pump.
func (st *loggerState) write(c *proc.Chunk) {
	if c.Credit != nil {
		// Repaid even if the write panics: a debt never repaid would
		// keep the pipe paused.
		defer c.Credit.Repay(cap(c.Data))
		c.Credit = nil
	}
	f := &st.out
	if c.Stream == proc.StreamErr && st.errOut != nil {
		f = st.errOut
	}
	if f.path != "" && !f.writeFile(c.Data) {
		f.lost += c.Lines
	}
	if st.syslog != nil {
		st.syslog.send(c.Data, c.Stream, time.Now())
	}
	st.recent = append(st.recent, c)
	st.recentLines += c.Lines
	st.recentBytes += cap(c.Data)
	for len(st.recent) > 1 && (st.recentLines-st.recent[0].Lines >= ringSize || st.recentBytes > ringBytes) {
		st.recentLines -= st.recent[0].Lines
		st.recentBytes -= cap(st.recent[0].Data)
		proc.PutChunk(st.recent[0].Data)
		st.recent[0] = nil
		st.recent = st.recent[1:]
	}
	if len(st.followers) > 0 {
		// Followers read at their own pace; the ring's chunk is recycled.
		st.followers.Send(bytes.Clone(c.Data))
	}
}

// lastLines returns the last n lines (without their newlines).
func (st *loggerState) lastLines(n int) []string {
	var out []string
	for i := len(st.recent) - 1; i >= 0 && len(out) < n; i-- {
		chunk := bytes.TrimSuffix(st.recent[i].Data, []byte{'\n'})
		for len(out) < n {
			j := bytes.LastIndexByte(chunk, '\n')
			out = append(out, string(chunk[j+1:]))
			if j < 0 {
				break
			}
			chunk = chunk[:j]
		}
	}
	slices.Reverse(out)
	return out
}

// lastBytes returns the newest whole lines of the ring, newline-
// terminated: at most n of them, within max bytes.
func (st *loggerState) lastBytes(n, max int) []byte {
	var parts [][]byte // newest first
	size := 0
	for i := len(st.recent) - 1; i >= 0 && n > 0; i-- {
		chunk := st.recent[i].Data
		if len(chunk) > 0 && chunk[len(chunk)-1] != '\n' {
			chunk = append(chunk[:len(chunk):len(chunk)], '\n')
		}
		// Take lines from the end of the chunk while they fit.
		end := len(chunk)
		for n > 0 && end > 0 {
			start := bytes.LastIndexByte(chunk[:end-1], '\n') + 1
			if size+end-start > max {
				n = 0
				break
			}
			parts = append(parts, chunk[start:end])
			size += end - start
			end = start
			n--
		}
	}
	out := make([]byte, 0, size)
	for _, p := range slices.Backward(parts) {
		out = append(out, p...)
	}
	return out
}

// restore puts lines handed over by a re-exec into the ring, as a chunk
// of their own (one that the pump's pool does not take back).
func (st *loggerState) restore(data []byte) {
	if len(data) == 0 {
		return
	}
	if len(data) > HandedBytes {
		// Not what a re-exec writes: keep the newest whole lines.
		data = data[len(data)-HandedBytes:]
		data = data[bytes.IndexByte(data, '\n')+1:]
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	c := &proc.Chunk{Data: data, Lines: bytes.Count(data, []byte{'\n'})}
	st.recent = append([]*proc.Chunk{c}, st.recent...)
	st.recentLines += c.Lines
	st.recentBytes += cap(c.Data)
}

// SplitLines cuts a chunk of newline-terminated lines.
func SplitLines(chunk []byte) []string {
	return strings.Split(strings.TrimSuffix(string(chunk), "\n"), "\n")
}
