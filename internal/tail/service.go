package tail

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/internal/proc"
)

// LogArgs are the arguments of a service's log request (herd log NAME
// -n N [-f]) with the host-side filter of herd fleet tail --service:
// --grep and --exclude (as a file's tail: Go expressions, at most
// MaxPattern bytes, matched against the whole line, its time stamp
// included) and --since SECONDS (the backlog's lines stamped that long
// ago or later, by the host's clock: no clock skew between operator and
// host counts).
type LogArgs struct {
	Lines   int
	Follow  bool
	Grep    string
	Exclude string
	Since   time.Duration
	filter  Filter // compiled by ParseLog
}

// Encode is the request's Args.
func (a LogArgs) Encode() []string {
	out := []string{"-n", strconv.Itoa(a.Lines)}
	if a.Follow {
		out = append(out, "-f")
	}
	if a.Grep != "" {
		out = append(out, "--grep", a.Grep)
	}
	if a.Exclude != "" {
		out = append(out, "--exclude", a.Exclude)
	}
	if a.Since > 0 {
		out = append(out, "--since", strconv.FormatInt(int64(a.Since/time.Second), 10))
	}
	return out
}

// ParseLog reads a log request's Args (-n defaults to 10) and compiles
// its filter (Pick and Live use it).
func ParseLog(args []string) (LogArgs, error) {
	a := LogArgs{Lines: 10}
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		flag := args[i]
		if flag == "-f" {
			a.Follow = true
			continue
		}
		if flag != "-n" && flag != "--grep" && flag != "--exclude" && flag != "--since" {
			return a, fmt.Errorf("unknown log argument %q", flag)
		}
		if seen[flag] {
			return a, fmt.Errorf("log: %s given twice", flag)
		}
		seen[flag] = true
		if i+1 >= len(args) {
			return a, fmt.Errorf("log: %s needs a value", flag)
		}
		i++
		v := args[i]
		switch flag {
		case "-n":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return a, fmt.Errorf("-n: expected a non-negative number, got %q", v)
			}
			a.Lines = n
		case "--grep":
			a.Grep = v
		case "--exclude":
			a.Exclude = v
		case "--since":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 || n > int64(100*365*24*time.Hour/time.Second) {
				return a, fmt.Errorf("log: --since %q: expected a number of seconds", v)
			}
			a.Since = time.Duration(n) * time.Second
		}
	}
	f, err := NewFilter(a.Grep, a.Exclude)
	if err != nil {
		return a, errors.New("log: " + err.Error())
	}
	a.filter = f
	return a, nil
}

// Filtered says whether a filters lines at all.
func (a LogArgs) Filtered() bool { return a.Grep != "" || a.Exclude != "" || a.Since > 0 }

// Backlog is how many recent lines to read for the first reply: with a
// filter, all that are kept (the last Lines that pass come of them);
// none for none (a stream opened again).
func (a LogArgs) Backlog() int {
	if a.Filtered() && a.Lines > 0 {
		return MaxLines
	}
	return a.Lines
}

// Pick is the first reply's lines of backlog (oldest first): those that
// pass the filter and, with Since, are stamped at now-Since or later
// (a line without a stamp is kept), at most the last Lines of them.
func (a LogArgs) Pick(backlog []string, now time.Time, stamp func(string) (time.Time, bool)) []string {
	from := now.Add(-a.Since)
	out := []string{}
	for _, l := range backlog {
		if a.Since > 0 {
			if t, ok := stamp(l); ok && t.Before(from) {
				continue
			}
		}
		if a.filter.Keep(l) {
			out = append(out, l)
		}
	}
	return out[max(0, len(out)-a.Lines):]
}

// Live is the lines of a new chunk that pass the filter.
func (a LogArgs) Live(lines []string) []string {
	if a.Grep == "" && a.Exclude == "" {
		return lines
	}
	out := lines[:0:0]
	for _, l := range lines {
		if a.filter.Keep(l) {
			out = append(out, l)
		}
	}
	return out
}

// Stamp reads the time stamp a service's log line begins with
// (proc.TimeLayout, in the host's time zone).
func Stamp(line string) (time.Time, bool) {
	if len(line) < len(proc.TimeLayout) {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(proc.TimeLayout, line[:len(proc.TimeLayout)], time.Local)
	return t, err == nil
}
