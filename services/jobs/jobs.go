package jobs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// EventKind is the kind of the history event recorded for each finished
// run and each missed period; its Job and Outcome fields say which job
// and how it went.
const EventKind = "job"

// Outcomes of a job event.
const (
	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
	OutcomeLate   = "late"
)

// States of a job in `herd jobs`.
const (
	StateOK      = "ok"
	StateFailed  = "failed"
	StateLate    = "late"
	StateRunning = "running"
	StatePending = "pending" // expected, never reported yet
)

// Results of a run.
const (
	ResultRunning = "running"
	ResultOK      = "ok"
	ResultFailed  = "failed"
	ResultLost    = "lost" // a later run started before this one's end was reported
)

// RightReport is the one right a job capability carries: report runs of
// the job named in its target (capability.JobTarget).
const RightReport = "report"

// Bounds of what a reporter may make the daemon keep.
const (
	MaxTailLines  = 50
	MaxTailBytes  = 16 << 10
	MaxLineBytes  = 1 << 10
	MaxArgvBytes  = 4 << 10
	RunsPerJob    = 50
	MaxJobs       = 1024 // jobs of all reporters
	MaxJobsPerUID = 64   // jobs of one local user who is not the owner
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// CheckName says whether name may name a job: letters, digits, . _ @ -,
// at most 64 bytes, not starting with punctuation (no '/': that separates
// a user's namespace, see Key).
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("bad job name %q: use letters, digits, '.', '_', '@' and '-', at most 64, starting with a letter or digit", name)
	}
	return nil
}

// Key is the name a job is kept under: its own name for the daemon's
// owner (and for holders of a report capability on it), UID/NAME for
// another local user, so that no user can report runs of another's job.
func Key(name string, uid uint32, owner bool) string {
	if owner {
		return name
	}
	return strconv.FormatUint(uint64(uid), 10) + "/" + name
}

// Namespace is the prefix of the jobs of a non-owner uid ("1001/").
func Namespace(uid uint32) string { return strconv.FormatUint(uint64(uid), 10) + "/" }

// Expect is a job's expectation: a run reported at least every Every,
// Grace more before it is late.
type Expect struct {
	Name  string
	Every time.Duration
	Grace time.Duration
}

// Deadline is the end of period k (1, 2, ...) after ref: the time by
// which the k-th run after ref should have been reported.
func (e Expect) Deadline(ref time.Time, k int) time.Time {
	return ref.Add(time.Duration(k)*e.Every + e.Grace)
}

// Missed is the number of periods after ref whose deadline has passed
// at now (0: on time).
func (e Expect) Missed(ref, now time.Time) int {
	if e.Every <= 0 || now.Before(e.Deadline(ref, 1)) {
		return 0
	}
	return int(now.Sub(ref.Add(e.Grace)) / e.Every)
}

// Check decides, for a job last heard of at ref, whose late alert was
// last raised for period alerted (0: none since ref), whether a late
// alert is due now (late: the period to raise it for, else 0) and when
// to look again (the next deadline). One alert per missed period: a
// check within the same period raises nothing; several periods missed
// at once (the daemon was down) raise one alert, for the latest.
func (e Expect) Check(ref time.Time, alerted int, now time.Time) (late int, next time.Time) {
	if e.Every <= 0 {
		return 0, time.Time{}
	}
	k := e.Missed(ref, now)
	if k > alerted {
		late = k
	}
	return late, e.Deadline(ref, k+1)
}

// Summary is what the daemon keeps of one job besides its runs.
type Summary struct {
	Key string `json:"key"`
	// Ref is when the job was last heard of: its last start or end
	// report, or when its expectation was first seen.
	Ref time.Time `json:"ref"`
	// Alerted is the period after Ref whose late alert was raised.
	Alerted int `json:"alerted,omitempty"`
	// FirstID and LastID are the run numbers kept (RunsPerJob at most).
	FirstID int `json:"first_id,omitempty"`
	LastID  int `json:"last_id,omitempty"`
	// Running is the run being run, 0 if none.
	Running  int           `json:"running,omitempty"`
	Last     time.Time     `json:"last,omitzero"`
	Result   string        `json:"result,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
}

// State is the job's state at now, given its expectation (nil: none).
func (s Summary) State(e *Expect, now time.Time) string {
	switch {
	case e != nil && e.Missed(s.Ref, now) > 0:
		return StateLate
	case s.Running != 0:
		return StateRunning
	case s.Result == ResultOK:
		return StateOK
	case s.Result == ResultFailed:
		return StateFailed
	}
	return StatePending
}

// Heard records a report at t: the job is on time again.
func (s *Summary) Heard(t time.Time) {
	if t.After(s.Ref) {
		s.Ref = t
	}
	s.Alerted = 0
}

// Tail keeps the last lines of a command's output within the bounds,
// whatever bytes arrive: lines longer than MaxLineBytes are cut, invalid
// UTF-8 is replaced, at most MaxTailLines lines and MaxTailBytes bytes
// are kept (the newest). Write never fails.
type Tail struct {
	lines   []string
	bytes   int
	partial []byte
	Dropped int // lines that did not fit
}

// Write adds output.
func (t *Tail) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := indexByte(p, '\n')
		if i < 0 {
			room := MaxLineBytes + 1 - len(t.partial)
			if room > 0 {
				t.partial = append(t.partial, p[:min(room, len(p))]...)
			}
			break
		}
		room := MaxLineBytes + 1 - len(t.partial)
		if room > 0 {
			t.partial = append(t.partial, p[:min(room, i)]...)
		}
		t.add(t.partial)
		t.partial = t.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

func indexByte(p []byte, c byte) int {
	for i, b := range p {
		if b == c {
			return i
		}
	}
	return -1
}

func (t *Tail) add(line []byte) {
	t.push(CleanLine(string(line)))
}

func (t *Tail) push(s string) {
	t.lines = append(t.lines, s)
	t.bytes += len(s)
	for len(t.lines) > MaxTailLines || t.bytes > MaxTailBytes {
		t.bytes -= len(t.lines[0])
		t.lines = t.lines[1:]
		t.Dropped++
	}
}

// Lines returns the kept lines, an unfinished last line included.
func (t *Tail) Lines() []string {
	out := append([]string(nil), t.lines...)
	if len(t.partial) > 0 {
		c := Tail{lines: out, bytes: t.bytes}
		c.add(t.partial)
		out = c.lines
	}
	return out
}

// CleanLine makes one line of hostile output safe to keep: valid UTF-8,
// at most MaxLineBytes (cut on a rune boundary, marked), no newline.
func CleanLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.TrimSuffix(s, "\r")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > MaxLineBytes {
		cut := MaxLineBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + " [cut]"
	}
	return s
}

// BoundLines bounds lines a reporter sent as Tail would have.
func BoundLines(lines []string) []string {
	var t Tail
	for _, l := range lines {
		t.push(CleanLine(l))
	}
	return t.lines
}

// BoundArgv keeps a command line within MaxArgvBytes.
func BoundArgv(argv []string) []string {
	var out []string
	total := 0
	for _, a := range argv {
		a = CleanLine(a)
		if total += len(a); total > MaxArgvBytes {
			return append(out, "[...]")
		}
		out = append(out, a)
	}
	return out
}
