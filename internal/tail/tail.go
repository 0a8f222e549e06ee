package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/internal/filexfer"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// Action is the read target's tail action.
const Action = "tail"

// Bounds.
const (
	MaxPattern = 1024  // bytes of a --grep or --exclude
	MaxLines   = 10000 // --lines
	MaxLine    = 4096  // bytes of a line; longer ones are cut
	// maxChunk is read at once, and its lines make one reply: under
	// wire.PartBudget even with every byte escaped (\u0000, 6 bytes), so
	// that a reply is never cut into parts, each of which would carry
	// the offset of the whole.
	maxChunk = 64 << 10
	maxBack  = 1 << 20 // read back for --lines
	// maxCopied bounds what is read from a copytruncate copy: the lines
	// written between the last read and the copy (a poll's worth).
	maxCopied = 4 << 20
	// recentBytes are kept of what was read last, to know the copy.
	recentBytes = 256
)

// CopySuffix names the copy that logrotate's copytruncate makes of a
// file before it truncates it (its default, without dateext).
const CopySuffix = ".1"

// Poll is how often a followed file is looked at.
var Poll = 200 * time.Millisecond

// Args are a tail request's.
type Args struct {
	Path    string
	Grep    string
	Exclude string
	Lines   int
	// Resume, when File is set: a stream that dropped comes back where
	// it was, at byte From of the file File (Lines.File, Lines.Offset of
	// its last reply), so that the lines written meanwhile come too.
	File string
	From int64
}

// Encode is the request's Args: --follow first (a relaying daemon
// gives a follow stream no deadline).
func (a Args) Encode() []string {
	out := []string{"--follow", "--path", a.Path, "--lines", strconv.Itoa(a.Lines)}
	if a.Grep != "" {
		out = append(out, "--grep", a.Grep)
	}
	if a.Exclude != "" {
		out = append(out, "--exclude", a.Exclude)
	}
	if a.File != "" {
		out = append(out, "--file", a.File, "--from", strconv.FormatInt(a.From, 10))
	}
	return out
}

// Parse reads a tail request's Args.
func Parse(args []string) (Args, error) {
	var a Args
	if len(args) == 0 || args[0] != "--follow" {
		return a, errors.New("tail: expected --follow first")
	}
	seen := map[string]bool{}
	for i := 1; i < len(args); i += 2 {
		if i+1 >= len(args) {
			return a, fmt.Errorf("tail: %s needs a value", args[i])
		}
		if seen[args[i]] {
			return a, fmt.Errorf("tail: %s given twice", args[i])
		}
		seen[args[i]] = true
		v := args[i+1]
		switch args[i] {
		case "--path":
			a.Path = v
		case "--grep":
			a.Grep = v
		case "--exclude":
			a.Exclude = v
		case "--lines":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > MaxLines {
				return a, fmt.Errorf("tail: --lines %q: expected 0 to %d", v, MaxLines)
			}
			a.Lines = n
		case "--file":
			a.File = v
		case "--from":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return a, fmt.Errorf("tail: --from %q: expected an offset", v)
			}
			a.From = n
		default:
			return a, fmt.Errorf("tail: unknown argument %q", args[i])
		}
	}
	if a.Path == "" {
		return a, errors.New("tail: --path is required")
	}
	_, err := NewFilter(a.Grep, a.Exclude)
	return a, err
}

// PathOf is the file a tail request reads ("" for a malformed one), for
// the capability check.
func PathOf(req wire.Request) string {
	a, err := Parse(req.Args)
	if err != nil {
		return ""
	}
	return a.Path
}

// Filter keeps the lines that match grep (when set) and not exclude.
type Filter struct{ grep, exclude *regexp.Regexp }

// NewFilter compiles the patterns, each at most MaxPattern bytes.
func NewFilter(grep, exclude string) (Filter, error) {
	var f Filter
	for _, p := range []struct {
		flag, re string
		to       **regexp.Regexp
	}{{"--grep", grep, &f.grep}, {"--exclude", exclude, &f.exclude}} {
		if p.re == "" {
			continue
		}
		if len(p.re) > MaxPattern {
			return f, fmt.Errorf("%s: a pattern of %d bytes; at most %d", p.flag, len(p.re), MaxPattern)
		}
		re, err := regexp.Compile(p.re)
		if err != nil {
			return f, fmt.Errorf("%s: %v", p.flag, err)
		}
		*p.to = re
	}
	return f, nil
}

// Keep says whether line passes the filter.
func (f Filter) Keep(line string) bool {
	return (f.grep == nil || f.grep.MatchString(line)) && (f.exclude == nil || !f.exclude.MatchString(line))
}

// Lines is one reply of the stream: lines in order, and a note (the
// file was truncated, rotated, or is gone).
type Lines struct {
	Lines []string `json:"lines"`
	Note  string   `json:"note,omitempty"`
	// File names the file followed (device and inode), Offset the byte
	// after the last complete line read: where a stream that drops
	// resumes (Args.File, Args.From).
	File   string `json:"file,omitempty"`
	Offset int64  `json:"offset"`
}

// fileID is f's device and inode, "" if unknown.
func fileID(f *os.File) string {
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", sys.Dev, sys.Ino)
	}
	return ""
}

// splitter cuts a byte stream into lines of at most MaxLine bytes.
type splitter struct {
	partial []byte
	// since counts the bytes fed since the last newline.
	since int64
}

// feed adds b and returns the complete lines (a line longer than
// MaxLine is cut there, the rest dropped up to its end).
func (s *splitter) feed(b []byte, out []string) []string {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			room := MaxLine - len(s.partial)
			s.partial = append(s.partial, b[:min(len(b), max(room, 0))]...)
			s.since += int64(len(b))
			return out
		}
		s.since = 0
		room := MaxLine - len(s.partial)
		s.partial = append(s.partial, b[:min(i, max(room, 0))]...)
		out = append(out, string(s.partial))
		s.partial = s.partial[:0]
		b = b[i+1:]
	}
	return out
}

// lastLines is up to n complete lines before offset end of f (reading
// back at most maxBack bytes).
func lastLines(f *os.File, end int64, n int) []string {
	if n == 0 || end == 0 {
		return nil
	}
	start := max(0, end-maxBack)
	buf := make([]byte, end-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	if start > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	var s splitter
	lines := s.feed(buf, nil)
	return lines[max(0, len(lines)-n):]
}

// Serve streams the lines of a tail request whose capability the caller
// checked; authz (nil: none) is asked again before every reply, so that
// a revocation ends the stream. mayRead says whether the caller may read
// another path (nil: none): a file truncated under the stream is looked
// for as its copytruncate copy (PATH.1), whose lines written since the
// last read are read from there first, when the caller may read it.
func Serve(ctx context.Context, req wire.Request, send func(wire.Reply) bool, authz func() *wire.Error, mayRead func(path string) bool) {
	a, err := Parse(req.Args)
	if err != nil {
		send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)))
		return
	}
	filter, _ := NewFilter(a.Grep, a.Exclude)
	refused := wire.Errorf(wire.PermissionDenied, "permission denied: no capability for '%s' on '%s'", req.Action, capability.ReadTarget)
	f, err := filexfer.OpenRead(a.Path)
	switch {
	case filexfer.IsRefused(err):
		send(wire.ErrReply(req.ID, refused))
		return
	case err != nil:
		send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%s: %v", a.Path, err)))
		return
	}
	defer func() { f.Close() }()
	st, _ := f.Stat()
	offset := st.Size()
	resumed := ""
	if a.File != "" {
		switch {
		case a.File != fileID(f):
			offset, resumed = 0, a.Path+" was replaced while the stream was down; following the new file from its start"
		case a.From > offset:
			offset, resumed = 0, a.Path+" was truncated while the stream was down"
		default:
			offset = a.From
		}
	}
	var sp splitter
	// recent is the end of what was read of f, up to offset: the copy of
	// a file truncated under the stream holds these same bytes there.
	var recent []byte
	remember := func(b []byte) {
		recent = append(recent, b[max(0, len(b)-recentBytes):]...)
		recent = recent[max(0, len(recent)-recentBytes):]
	}
	if offset > 0 {
		b := make([]byte, min(offset, recentBytes))
		if _, err := f.ReadAt(b, offset-int64(len(b))); err == nil {
			remember(b)
		}
	}
	reply := func(l Lines) bool {
		l.File, l.Offset = fileID(f), offset-sp.since
		if authz != nil {
			if werr := authz(); werr != nil {
				send(wire.ErrReply(req.ID, werr))
				return false
			}
		}
		raw, _ := json.Marshal(l)
		return send(wire.Reply{ID: req.ID, OK: true, More: true, Result: raw})
	}
	var keep []string
	for _, l := range lastLines(f, offset, a.Lines) {
		if filter.Keep(l) {
			keep = append(keep, l)
		}
	}
	if a.File != "" {
		keep = nil // resumed: the lines from From, none before
	}
	if !reply(Lines{Lines: nonNil(keep), Note: resumed}) {
		return
	}
	buf := make([]byte, maxChunk)
	tick := time.NewTicker(Poll)
	defer tick.Stop()
	// more: the last read filled the buffer, so the file may hold more
	// already; it is read again at once, not at the next tick (a file
	// written faster than a chunk a tick would fall behind for ever).
	// note waits for the next reply.
	more, note := false, ""
	for {
		if !more {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		// Rotated (another file at the path): the old file is read to
		// its end first (what was written to it before the rename),
		// then the new one from its start. Truncated: start over.
		var next *os.File
		if nf, err := filexfer.OpenRead(a.Path); err == nil {
			if cur, _ := f.Stat(); !os.SameFile(cur, mustStat(nf)) {
				next = nf
			} else {
				nf.Close()
			}
		}
		var lines []string
		if cur, err := f.Stat(); next == nil && err == nil && cur.Size() < offset {
			note = a.Path + " was truncated"
			if rest, ok := copied(a.Path+CopySuffix, offset, recent, mayRead); ok {
				note += "; its lines since the last read came from its copy " + a.Path + CopySuffix
				for _, l := range sp.feed(rest, nil) {
					if filter.Keep(l) {
						lines = append(lines, l)
					}
				}
			}
			offset, sp, recent = 0, splitter{}, recent[:0]
		}
		n, _ := f.ReadAt(buf, offset)
		if n > 0 {
			offset += int64(n)
			remember(buf[:n])
			for _, l := range sp.feed(buf[:n], nil) {
				if filter.Keep(l) {
					lines = append(lines, l)
				}
			}
		}
		more = n == len(buf)
		if len(lines) > 0 || note != "" {
			if !reply(Lines{Lines: nonNil(lines), Note: note}) {
				return
			}
			note = ""
		}
		if next != nil {
			if more {
				next.Close() // the old file first
				continue
			}
			f.Close()
			f, offset, sp, recent = next, 0, splitter{}, recent[:0]
			more, note = true, a.Path+" was replaced; following the new file"
		}
	}
}

// copied is what the copy of a file truncated under the stream holds
// past offset (up to maxCopied): the file at path, if the caller may
// read it, is the copy when it is at least offset long and holds the
// bytes last read (recent) just before offset. Anything else is not
// read: false.
func copied(path string, offset int64, recent []byte, mayRead func(string) bool) ([]byte, bool) {
	if len(recent) == 0 || mayRead == nil || !mayRead(path) {
		return nil, false
	}
	f, err := filexfer.OpenRead(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < offset {
		return nil, false
	}
	at := make([]byte, len(recent))
	if _, err := f.ReadAt(at, offset-int64(len(recent))); err != nil || !bytes.Equal(at, recent) {
		return nil, false
	}
	rest := make([]byte, min(st.Size()-offset, maxCopied))
	n, err := f.ReadAt(rest, offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false
	}
	return rest[:n], true
}

func mustStat(f *os.File) os.FileInfo {
	st, _ := f.Stat()
	return st
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Subject is what a request asks of a file or read capability: a tail's
// path (right read), or what files (filexfer's Subject) says.
func Subject(req wire.Request, files func(wire.Request) capability.FileSubject) capability.FileSubject {
	if req.Service == capability.ReadTarget && req.Action == Action {
		return capability.FileSubject{Right: capability.ReadAction, Path: PathOf(req)}
	}
	return files(req)
}
