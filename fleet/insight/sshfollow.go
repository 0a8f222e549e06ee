package insight

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/internal/tail"
)

// sshFollowScript follows one file on an SSH host, as a shepherd host's
// tail does: the file's lines are filtered there (awk's POSIX extended
// expressions, from the environment, so that no byte of a pattern is
// shell syntax), and after each line kept the host says the byte offset
// it ends at, so that a stream that comes back resumes there (the lines
// written meanwhile come too, and none twice).
//
// Its arguments: PATH, the backlog's line count, the offset to resume
// from (-1: none, a first stream) and the file's inode then. Its output,
// one record a line, by the first byte: "=" a line of the file, "@" the
// offset after it, "#" the file's inode, "!" a note (tail's own, such as
// a rotation, after which the offset counts from the new file's start,
// whose inode follows).
// The file's lines reach the last awk with a "|" before them, so that
// nothing in them can pass for one of tail's notes.
const sshFollowScript = `p=$1 n=$2 from=$3 was=$4
export LC_ALL=C HERD_PATH="$1"
# mawk (Debian's awk) reads a pipe a buffer at a time unless told not to.
case $(awk -W version 2>&1 | head -n 1) in
*mawk*) aw='awk -W interactive' ;;
*) aw=awk ;;
esac
ino=$(stat -L -c %i -- "$p" 2>/dev/null)
size=$(stat -L -c %s -- "$p" 2>/dev/null) || size=0
filter='BEGIN { re = ENVIRON["HERD_GREP"]; ex = ENVIRON["HERD_EXCLUDE"] }
function keep(l) { return (re == "" || l ~ re) && (ex == "" || l !~ ex) }'
if [ "$from" -ge 0 ] && [ "$ino" != "$was" ]; then
	echo "!$p was replaced while the stream was down; following the new file from its start"
	from=0
elif [ "$from" -gt "$size" ]; then
	echo "!$p was truncated while the stream was down"
	from=0
elif [ "$from" -lt 0 ]; then
	head -c "$size" -- "$p" 2>/dev/null | tail -n "$n" | awk "$filter"'
keep($0) { print "=" $0 }'
	from=$size
fi
echo "#$ino"
echo "@$from"
{ tail -c +$((from + 1)) -F -- "$p" | $aw '{ print "|" $0; fflush() }'; } 2>&1 |
$aw -v off="$from" "$filter"'
substr($0, 1, 1) != "|" {
	if ($0 ~ /truncated|replaced|appeared|become accessible/) {
		off = 0; print "@0"
		c = "stat -L -c %i -- \"$HERD_PATH\" 2>/dev/null"
		if ((c | getline i) > 0) print "#" i
		close(c)
	}
	print "!" $0; fflush(); next
}
{
	l = substr($0, 2); off += length(l) + 1
	if (keep(l)) { print "=" l; print "@" off; fflush() }
}'`

// sshFollowCommand is the command line of sshFollowScript on the host.
func sshFollowCommand(path string, lines int, from int64, inode string, a tail.Args) string {
	argv := []string{"env", "HERD_GREP=" + a.Grep, "HERD_EXCLUDE=" + a.Exclude,
		"sh", "-c", sshFollowScript, "sh", path, strconv.Itoa(lines), strconv.FormatInt(from, 10), inode}
	return fleet.ShellQuote(argv)
}

// followState is where an SSH host's stream of a file is: the file's
// inode and the offset after the last line kept (from < 0: nowhere yet).
type followState struct {
	inode string
	from  int64
}

// record takes one record of sshFollowScript's output: a line to show,
// a note, or nothing (the state moved, or the record is not one).
func (st *followState) record(rec string) (line string, note, show bool) {
	line, note, show = showRecord(rec, func(kind byte, body string) {
		switch kind {
		case '@':
			if off, err := strconv.ParseInt(body, 10, 64); err == nil && off >= 0 {
				st.from = off
			}
		case '#':
			if body == "" || strings.Trim(body, "0123456789") == "" {
				st.inode = body
			}
		}
	})
	if note {
		line = strings.TrimPrefix(line, "tail: ")
	}
	return line, note, show
}

// showRecord reads one record of a host's script (sshFollowScript's,
// sshJournalScript's) by its first byte: "=" a line to show, "!" a note;
// any other kind goes to state, and shows nothing.
func showRecord(rec string, state func(kind byte, body string)) (line string, note, show bool) {
	if rec == "" {
		return "", false, false
	}
	switch body := rec[1:]; rec[0] {
	case '=':
		return body, false, true
	case '!':
		return body, true, true
	default:
		state(rec[0], body)
		return "", false, false
	}
}

// SSHFileTail is the stream of one file of an SSH host
// (sshFollowScript): the last lines lines first, then the lines as they
// come; a stream that comes back resumes after the last line it
// delivered, in the same file, with the lines written meanwhile.
func SSHFileTail(s *fleet.SSH, h *fleet.Host, path string, a tail.Args, emit func(TailLine)) func(ctx context.Context, first bool, delivered func()) error {
	st := &followState{from: -1}
	return func(ctx context.Context, first bool, delivered func()) error {
		lines := a.Lines
		if !first {
			lines = 0 // no backlog again: from where it was, or the end
		}
		return sshRecords(ctx, s, h, sshFollowCommand(path, lines, st.from, st.inode, a), st.record, emit, delivered)
	}
}

// sshRecords runs command on an SSH host and reads its output as records
// (sshFollowScript's, sshJournalScript's), emitting the lines and notes
// record picks out of them, each cut at tail.MaxLine bytes. It returns
// when the command ends or ctx does (the command is then killed).
func sshRecords(ctx context.Context, s *fleet.SSH, h *fleet.Host, command string, record func(string) (string, bool, bool), emit func(TailLine), delivered func()) error {
	sess, err := s.Session(ctx, h, 20*time.Second)
	if err != nil {
		return err
	}
	defer sess.Close()
	out, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	if _, err := sess.StdinPipe(); err != nil { // see fleet.HangupGuard
		return err
	}
	if err := sess.Start(fleet.HangupGuard(command)); err != nil {
		s.Forget(h)
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		sess.Signal(ssh.SIGKILL)
		sess.Close()
	})
	defer stop()
	delivered()
	r := bufio.NewReaderSize(out, tail.MaxLine+64)
	for {
		rec, err := r.ReadSlice('\n')
		if len(rec) > 0 {
			if rec[len(rec)-1] == '\n' {
				rec = rec[:len(rec)-1]
			}
			if line, note, show := record(string(rec)); show {
				if len(line) > tail.MaxLine {
					line = line[:tail.MaxLine]
				}
				emit(TailLine{Host: h.Name, Line: line, Note: note})
			}
			// A longer record: drop its rest.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				s.Forget(h)
				return sess.Wait()
			}
			return err
		}
	}
}
