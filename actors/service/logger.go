package service

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
	name   string // the service's
	path   string
	gid    int // group of the log file, or -1
	rotate services.LogRotate
	file   *os.File
	size   int64 // of the open file
	// recent holds the last chunks, enough for ringSize lines.
	recent      []*proc.Chunk
	recentLines int
	recentBytes int // capacity of the chunks in recent
	readers     int
	followers   follow.Set[[]byte]
	logf        func(string, ...any)
	// problem says why the log file cannot be written, for the daemon log
	// (once per new problem) and status; lost counts the lines that could
	// not be written since.
	problem string
	lost    int
}

// logger owns one service's log file and its ring of recent lines.
type logger struct{ st *loggerState }

func NewLoggerProps(name, path string, gid int, rotate services.LogRotate, logf func(string, ...any)) *actor.Props {
	st := &loggerState{name: name, path: path, gid: gid, rotate: rotate, logf: logf, followers: follow.Set[[]byte]{}}
	return actor.PropsFromProducer(func() actor.Actor { return &logger{st: st} })
}

func (l *logger) Receive(ctx actor.Context) {
	st := l.st
	switch msg := ctx.Message().(type) {
	case *proc.Opened:
		st.readers++
		// Open now, so that a log file that cannot be written is reported
		// when the process starts, not at its first line.
		st.open()
	case *proc.Chunk:
		st.write(msg)
	case *proc.Closed:
		st.readers--
		if st.readers == 0 {
			st.close()
		}
	case *RecentLines:
		msg.Reply <- st.lastLines(msg.N)
	case *FillRecent:
		msg.Status.Recent = st.lastLines(msg.N)
		msg.Status.LogError = st.problem
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
	if !st.writeFile(c.Data) {
		st.lost += c.Lines
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

// open opens the log file if it is not open. A file that cannot be
// opened is tried again at the next output, and said once in the daemon
// log (and in status until it can be written).
func (st *loggerState) open() {
	if st.file != nil || st.path == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(st.path), 0o755); err != nil {
		st.fail(fmt.Errorf("log file %s cannot be created: %w", st.path, reason(err)))
		return
	}
	f, err := proc.OpenLogFile(st.path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("log file %s cannot be opened: %w", st.path, pe.Err)
		}
		st.fail(err)
		return
	}
	st.file, st.size = f, 0
	if fi, err := f.Stat(); err == nil {
		st.size = fi.Size()
	}
	if st.gid >= 0 {
		if err := f.Chown(-1, st.gid); err != nil {
			st.logf("%s: log file %s: %v", st.name, st.path, err)
		}
	}
}

// fail records why the log file cannot be written; the daemon log hears
// of each new reason once, not of every line.
func (st *loggerState) fail(err error) {
	if msg := err.Error(); msg != st.problem {
		st.problem = msg
		st.logf("%s: %s; its output is kept in memory only (herd status, herd log)", st.name, msg)
	}
}

// reason is what went wrong, without the path a PathError repeats.
func reason(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// recovered says the log file is written again.
func (st *loggerState) recovered() {
	if st.problem != "" {
		st.logf("%s: log file %s is written again; %d lines could not be written to it", st.name, st.path, st.lost)
		st.problem, st.lost = "", 0
	}
}

// writeFile appends whole lines to the log file, rotating it where the
// next line would pass the size limit: a rotation never splits or loses a
// line (a single line longer than the limit gets a file of its own). It
// reports whether all of data was written.
func (st *loggerState) writeFile(data []byte) bool {
	for len(data) > 0 {
		st.open()
		if st.file == nil {
			return false
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
			st.fail(fmt.Errorf("log file %s cannot be written: %w", st.path, reason(err)))
			return false
		}
		st.recovered()
		data = data[len(part):]
		if st.rotate.Size > 0 && st.size >= st.rotate.Size {
			st.rotateFiles()
		}
	}
	return true
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
		st.logf("%s: log file %s: rotate: %v", st.name, st.path, err)
	}
}

func (st *loggerState) close() {
	if st.file != nil {
		st.file.Close()
		st.file = nil
	}
}

// SplitLines cuts a chunk of newline-terminated lines.
func SplitLines(chunk []byte) []string {
	return strings.Split(strings.TrimSuffix(string(chunk), "\n"), "\n")
}
