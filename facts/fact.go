package facts

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the version of the fact format this package writes and the
// highest it reads. A line with "v" greater than Version is refused.
const Version = 1

// Bounds on what one fact and one plugin run may hold.
const (
	MaxLine    = 4096 // bytes of one JSON line
	MaxFacts   = 1000 // facts kept of one run; the rest are dropped and reported
	MaxName    = 128  // bytes of subject and name
	MaxUnit    = 16   // bytes of unit
	MaxText    = 1024 // bytes of a text value
	MaxHostLen = 128  // bytes of host
)

// Fact is one thing known about a host at a time. Subject is host-local:
// "host" for the machine itself, "mount:/", "package:nginx",
// "service:web", or a plugin's own. Name says which indicator
// ("memory.available", "version"). A value is a number (Num, IsNum) or a
// text (Text). Host is empty on the host that measured it; a collector
// fills it in with the host it pulled the fact from.
type Fact struct {
	Host    string
	Subject string
	Name    string
	Num     float64
	Text    string
	IsNum   bool
	Unit    string
	Time    time.Time
}

// Value is the fact's value as text (numbers without a needless
// fraction).
func (f Fact) Value() string {
	if f.IsNum {
		return strconv.FormatFloat(f.Num, 'f', -1, 64)
	}
	return f.Text
}

// wireFact is the JSON form, one per line:
//
//	{"v":1,"subject":"host","name":"memory.total","value":2147483648,"unit":"bytes","time":"2026-12-04T10:00:00Z"}
type wireFact struct {
	V       int             `json:"v"`
	Host    string          `json:"host,omitempty"`
	Subject string          `json:"subject"`
	Name    string          `json:"name"`
	Value   json.RawMessage `json:"value"`
	Unit    string          `json:"unit,omitempty"`
	Time    *time.Time      `json:"time,omitempty"`
}

// ErrFormat is wrapped by every error of Decode and Validate.
var ErrFormat = errors.New("facts: bad fact")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
}

// Encode is the fact as one JSON line (with its newline).
func Encode(f Fact) ([]byte, error) {
	if err := Validate(f); err != nil {
		return nil, err
	}
	w := wireFact{V: Version, Host: f.Host, Subject: f.Subject, Name: f.Name, Unit: f.Unit}
	if !f.Time.IsZero() {
		t := f.Time.UTC()
		w.Time = &t
	}
	var err error
	if f.IsNum {
		w.Value = []byte(strconv.FormatFloat(f.Num, 'g', -1, 64))
	} else if w.Value, err = json.Marshal(f.Text); err != nil {
		return nil, err
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Decode reads one line of the format. A fact without a time gets now;
// v 0 (absent) is read as version 1.
func Decode(line []byte, now time.Time) (Fact, error) {
	if len(line) > MaxLine {
		return Fact{}, formatErr("line of %d bytes (at most %d)", len(line), MaxLine)
	}
	var w wireFact
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Fact{}, formatErr("not a JSON fact: %v", shorten(err.Error()))
	}
	if dec.More() {
		return Fact{}, formatErr("more than one JSON value on the line")
	}
	if w.V > Version || w.V < 0 {
		return Fact{}, formatErr("format version %d (this shepherd reads up to %d)", w.V, Version)
	}
	f := Fact{Host: w.Host, Subject: w.Subject, Name: w.Name, Unit: w.Unit, Time: now}
	if w.Time != nil {
		f.Time = *w.Time
	}
	v := bytes.TrimSpace(w.Value)
	switch {
	case len(v) == 0 || string(v) == "null":
		return Fact{}, formatErr("%s %s: no value", f.Subject, f.Name)
	case v[0] == '"':
		if err := json.Unmarshal(v, &f.Text); err != nil {
			return Fact{}, formatErr("%s %s: bad text value", f.Subject, f.Name)
		}
	case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
		n, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return Fact{}, formatErr("%s %s: bad number %s", f.Subject, f.Name, shorten(string(v)))
		}
		f.Num, f.IsNum = n, true
	case string(v) == "true" || string(v) == "false":
		f.Text = string(v)
	default:
		return Fact{}, formatErr("%s %s: value must be a number, a string or a boolean", f.Subject, f.Name)
	}
	if err := Validate(f); err != nil {
		return Fact{}, err
	}
	return f, nil
}

// Validate checks a fact's fields against the format.
func Validate(f Fact) error {
	if err := checkName("subject", f.Subject, MaxName); err != nil {
		return err
	}
	if err := checkName("name", f.Name, MaxName); err != nil {
		return err
	}
	if f.Unit != "" {
		if err := checkName("unit", f.Unit, MaxUnit); err != nil {
			return err
		}
	}
	if f.Host != "" {
		if err := checkName("host", f.Host, MaxHostLen); err != nil {
			return err
		}
	}
	if f.IsNum && (math.IsNaN(f.Num) || math.IsInf(f.Num, 0)) {
		return formatErr("%s %s: value is not a finite number", f.Subject, f.Name)
	}
	if len(f.Text) > MaxText || !utf8.ValidString(f.Text) {
		return formatErr("%s %s: text value is not UTF-8 of at most %d bytes", f.Subject, f.Name, MaxText)
	}
	if f.Time.IsZero() || f.Time.Year() < 1970 || f.Time.Year() > 9999 {
		return formatErr("%s %s: time out of range", f.Subject, f.Name)
	}
	return nil
}

// checkName allows printable ASCII without spaces, quotes or the NUL that
// separates keys in the store.
func checkName(field, s string, max int) error {
	if s == "" {
		return formatErr("no %s", field)
	}
	if len(s) > max {
		return formatErr("%s of %d bytes (at most %d)", field, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '\\' {
			return formatErr("%s %q: only printable ASCII without spaces, quotes or backslashes", field, shorten(s))
		}
	}
	return nil
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Problem is a line of a plugin's output that was not a fact.
type Problem struct {
	Line int
	Err  error
}

func (p Problem) Error() string { return fmt.Sprintf("line %d: %v", p.Line, p.Err) }

// ReadLines reads facts from r, one per line (blank lines skipped), up to
// MaxFacts; the problems of the other lines come back, at most 10 of them
// (then a count). It reads no more than limit bytes in all.
func ReadLines(r io.Reader, limit int64, now time.Time) ([]Fact, []Problem) {
	sc := bufio.NewScanner(io.LimitReader(r, limit))
	sc.Buffer(make([]byte, 0, 4096), MaxLine+1)
	var out []Fact
	var probs []Problem
	dropped, bad := 0, 0
	report := func(p Problem) {
		bad++
		if len(probs) < 10 {
			probs = append(probs, p)
		}
	}
	n := 0
	for {
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				report(Problem{Line: n + 1, Err: formatErr("line longer than %d bytes; the rest of the output is ignored", MaxLine)})
			}
			break
		}
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		f, err := Decode(line, now)
		if err != nil {
			report(Problem{Line: n, Err: err})
			continue
		}
		if len(out) >= MaxFacts {
			dropped++
			continue
		}
		out = append(out, f)
	}
	if bad > len(probs) {
		probs = append(probs, Problem{Line: n, Err: fmt.Errorf("%d more bad lines", bad-len(probs))})
	}
	if dropped > 0 {
		probs = append(probs, Problem{Line: n, Err: fmt.Errorf("%d facts past the first %d dropped", dropped, MaxFacts)})
	}
	return out, probs
}

// Key is the store key of a subject and name (latest values).
func Key(subject, name string) string { return subject + "\x00" + name }

// SplitKey is the inverse of Key.
func SplitKey(k string) (subject, name string, ok bool) {
	return strings.Cut(k, "\x00")
}
