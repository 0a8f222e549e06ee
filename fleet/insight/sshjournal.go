package insight

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/internal/tail"
)

// sshJournalScript follows a systemd unit's journal on an SSH host as
// sshFollowScript follows a file: filtered there by awk, and resumable.
// journalctl prints each entry with its time to the microsecond, in UTC
// (short-iso-precise, systemd 234 and later); after each line kept the
// host says that time and how many entries it has read with it, and a
// stream that comes back starts at that time (--since is inclusive) and
// passes over that many entries first: the entries written meanwhile
// come, and none twice, even where several share a microsecond.
//
// Its arguments: the unit, the backlog's line count, the newest entries
// to look at for it (more than the count when a filter drops some), the
// backlog's time window in seconds (0: none), and, for a stream that
// comes back, "resume", the time and the entry count it was at (none
// when the unit had no entry). Its output, one record a line: "=" an
// entry, "@TIME COUNT" where the stream is ("@-": before any entry), "!"
// a note (journalctl's own errors).
const sshJournalScript = `u=$1 n=$2 m=$3 secs=$4 mode=$5 from=$6 skip=$7
export LC_ALL=C TZ=UTC
case $(awk -W version 2>&1 | head -n 1) in
*mawk*) aw='awk -W interactive' ;;
*) aw=awk ;;
esac
since=
[ "$secs" -gt 0 ] && since=-${secs}s
filter='BEGIN { re = ENVIRON["HERD_GREP"]; ex = ENVIRON["HERD_EXCLUDE"] }
function keep(l) { return (re == "" || l ~ re) && (ex == "" || l !~ ex) }
function stamp(l) {
	if (l !~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9][.][0-9]+[+]0000 /) return ""
	return substr(l, 1, index(l, " ") - 1)
}'
set -- journalctl --no-pager -o short-iso-precise -u "$u"
if [ "$mode" != resume ]; then
	# The backlog: of the newest m entries (newest first), the last n
	# kept, oldest first; and where the stream goes on from, the newest
	# entry's time and how many entries carry it.
	t=$(mktemp 2>&1) || { echo "!mktemp: $t"; exit 1; }
	if [ -n "$since" ]; then "$@" -r -n "$m" --since "$since"; else "$@" -r -n "$m"; fi 2>&1 |
	awk -v n="$n" -v t="$t" "$filter"'
	{ s = stamp($0) }
	s == "" { if ($0 !~ /^-- /) print "!" $0; next }
	top == "" { top = s }
	s == top { same++ }
	keep($0) && k < n { b[k++] = $0 }
	END {
		for (i = k - 1; i >= 0; i--) print "=" b[i]
		print top != "" ? "@" top " " same : "@-"
		print top " " same + 0 > t
	}'
	read -r from skip < "$t"
	rm -f -- "$t"
fi
if [ -n "$from" ]; then
	set -- "$@" -n all --since "$(echo "$from" | sed 's/T/ /; s/+0000$/ UTC/')"
elif [ -n "$since" ]; then
	set -- "$@" -n all --since "$since"
else
	set -- "$@" -n all # the unit had no entry: all are new
fi
"$@" -f 2>&1 | $aw -v cur="$from" -v cnt="${skip:-0}" "$filter"'
BEGIN { skip = cnt }
{ s = stamp($0) }
s == "" { if ($0 !~ /^-- /) { print "!" $0; fflush() }; next }
s == cur && skip > 0 { skip--; next }
{ if (s == cur) cnt++; else { cur = s; cnt = 1 } }
keep($0) { print "=" $0; print "@" cur " " cnt; fflush() }'`

// journalStamp is a time as sshJournalScript's journalctl prints it.
var journalStamp = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{1,9}\+0000$`)

// journalState is where an SSH host's stream of a journal is: the time
// of the last entry read and how many entries with that time were read
// (stamp "": before any entry); known says a stream got that far (until
// then, a stream that comes back shows the backlog again).
type journalState struct {
	stamp string
	count int
	known bool
}

// record takes one record of sshJournalScript's output: an entry to
// show, a note, or nothing (the state moved, or the record is not one).
func (st *journalState) record(rec string) (line string, note, show bool) {
	return showRecord(rec, func(kind byte, body string) {
		switch {
		case kind != '@':
		case body == "-":
			st.known = true
		default:
			stamp, count, ok := strings.Cut(body, " ")
			n, err := strconv.Atoi(count)
			if ok && err == nil && n > 0 && n <= 1<<30 && journalStamp.MatchString(stamp) {
				st.stamp, st.count, st.known = stamp, n, true
			}
		}
	})
}

// command is sshJournalScript's command line for the next stream.
func (st *journalState) command(unit string, a tail.Args, since int) string {
	look := max(a.Lines, 1)
	if a.Grep != "" || a.Exclude != "" {
		look = tail.MaxLines
	}
	argv := []string{"env", "HERD_GREP=" + a.Grep, "HERD_EXCLUDE=" + a.Exclude,
		"sh", "-c", sshJournalScript, "sh", unit, strconv.Itoa(a.Lines), strconv.Itoa(look), strconv.Itoa(since)}
	if st.known {
		argv = append(argv, "resume", st.stamp, strconv.Itoa(st.count))
	}
	return fleet.ShellQuote(argv)
}

// SSHJournalTail is the stream of a systemd unit's journal on an SSH
// host (sshJournalScript): the last a.Lines entries kept (of those of the
// last since seconds, if since > 0), then the entries as they come; a
// stream that comes back resumes after the last entry it read, with the
// entries written meanwhile.
func SSHJournalTail(s *fleet.SSH, h *fleet.Host, unit string, a tail.Args, since int, emit func(TailLine)) func(ctx context.Context, first bool, delivered func()) error {
	st := &journalState{}
	return func(ctx context.Context, _ bool, delivered func()) error {
		return sshRecords(ctx, s, h, st.command(unit, a, since), st.record, emit, delivered)
	}
}
