package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed calendar expression. The zero Expr is not valid: use
// Parse.
type Expr struct {
	src string
	// weekdays is a bit set of time.Weekday; 0 means any day.
	weekdays uint8
	year     field
	month    field
	day      field
	// fromEnd: day counts from the end of the month (~).
	fromEnd bool
	hour    field
	minute  field
	second  field
	loc     *time.Location
}

// field is one component: a value matches if any of its ranges holds it;
// no ranges means any value.
type field []rng

// rng is start..end stepping by step (step 1 for a plain range or a
// value); down: the repetition counts downwards (days from the end).
type rng struct {
	start, end, step int
	down             bool
}

func (f field) match(v int) bool {
	if len(f) == 0 {
		return true
	}
	for _, r := range f {
		if r.down {
			if v <= r.start && v >= r.end && (r.start-v)%r.step == 0 {
				return true
			}
			continue
		}
		if v >= r.start && v <= r.end && (v-r.start)%r.step == 0 {
			return true
		}
	}
	return false
}

// next is the least value in [from, max] that f matches, or -1.
func (f field) next(from, max int) int {
	for v := from; v <= max; v++ {
		if f.match(v) {
			return v
		}
	}
	return -1
}

var shorthands = map[string]string{
	"minutely":     "*-*-* *:*:00",
	"hourly":       "*-*-* *:00:00",
	"daily":        "*-*-* 00:00:00",
	"weekly":       "Mon *-*-* 00:00:00",
	"monthly":      "*-*-01 00:00:00",
	"yearly":       "*-01-01 00:00:00",
	"annually":     "*-01-01 00:00:00",
	"quarterly":    "*-01,04,07,10-01 00:00:00",
	"semiannually": "*-01,07-01 00:00:00",
}

var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// maxLen bounds an expression: a configuration's value, read as hostile.
const maxLen = 256

// Parse reads a calendar expression; times are in loc unless the
// expression names its own zone (nil loc: UTC). The error says which part
// is wrong.
func Parse(s string, loc *time.Location) (*Expr, error) {
	if loc == nil {
		loc = time.UTC
	}
	if len(s) > maxLen {
		return nil, fmt.Errorf("calendar expression longer than %d bytes", maxLen)
	}
	e := &Expr{src: strings.TrimSpace(s), loc: loc}
	words := strings.Fields(s)
	if len(words) == 0 {
		return nil, fmt.Errorf("empty calendar expression (e.g. daily, Mon..Fri 02:30, *-*-01 00:00:00)")
	}
	// A zone last: UTC, or a name with a slash or letters only that no
	// other component has.
	if n := len(words); n > 1 {
		if z := words[n-1]; z == "UTC" || strings.Contains(z, "/") && !strings.ContainsAny(z, ":-*") {
			l, err := time.LoadLocation(z)
			if err != nil {
				return nil, fmt.Errorf("unknown time zone %q", z)
			}
			e.loc, words = l, words[:n-1]
		}
	}
	if len(words) == 1 {
		if full, ok := shorthands[strings.ToLower(words[0])]; ok {
			words = strings.Fields(full)
		}
	}
	if w := words[0]; len(w) > 0 && isLetter(w[0]) {
		days, err := parseWeekdays(w)
		if err != nil {
			return nil, err
		}
		e.weekdays, words = days, words[1:]
	}
	var date, clock string
	switch len(words) {
	case 0:
	case 1:
		if strings.Contains(words[0], ":") {
			clock = words[0]
		} else {
			date = words[0]
		}
	case 2:
		date, clock = words[0], words[1]
	default:
		return nil, fmt.Errorf("%q: too many parts (expected [WEEKDAYS] [DATE] [TIME] [ZONE])", s)
	}
	if date != "" {
		if err := e.parseDate(date); err != nil {
			return nil, err
		}
	}
	if clock == "" {
		clock = "00:00:00"
	}
	if err := e.parseClock(clock); err != nil {
		return nil, err
	}
	if _, ok := e.Next(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)); !ok && len(e.year) == 0 {
		return nil, fmt.Errorf("%q never elapses", s)
	}
	return e, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// String is the expression as written.
func (e *Expr) String() string { return e.src }

// Location is the zone the expression's times are in.
func (e *Expr) Location() *time.Location { return e.loc }

func parseWeekdays(w string) (uint8, error) {
	var set uint8
	for _, item := range strings.Split(w, ",") {
		lo, hi, isRange := strings.Cut(item, "..")
		a, err := weekday(lo)
		if err != nil {
			return 0, err
		}
		b := a
		if isRange {
			if b, err = weekday(hi); err != nil {
				return 0, err
			}
		}
		// A range wraps around the week: Sat..Mon.
		for d := a; ; d = (d + 1) % 7 {
			set |= 1 << d
			if d == b {
				break
			}
		}
	}
	return set, nil
}

func weekday(s string) (int, error) {
	l := strings.ToLower(s)
	for i, n := range weekdayNames {
		if len(l) >= 3 && strings.HasPrefix(l, n) && strings.HasPrefix(strings.ToLower(time.Weekday(i).String()), l) {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown weekday %q (Mon, Tue, ... or Monday, ...)", s)
}

func (e *Expr) parseDate(d string) error {
	// YEAR-MONTH-DAY or MONTH-DAY; ~ instead of the last - counts days
	// from the month's end.
	sep := strings.LastIndexAny(d, "-~")
	if sep <= 0 {
		return fmt.Errorf("date %q: expected [YEAR-]MONTH-DAY", d)
	}
	e.fromEnd = d[sep] == '~'
	head, dayPart := d[:sep], d[sep+1:]
	parts := strings.Split(head, "-")
	var err error
	switch len(parts) {
	case 1:
		e.month, err = parseField(parts[0], 1, 12, "month", false)
	case 2:
		if e.year, err = parseField(parts[0], 1970, 2199, "year", false); err == nil {
			e.month, err = parseField(parts[1], 1, 12, "month", false)
		}
	default:
		return fmt.Errorf("date %q: expected [YEAR-]MONTH-DAY", d)
	}
	if err != nil {
		return fmt.Errorf("date %q: %w", d, err)
	}
	if e.day, err = parseField(dayPart, 1, 31, "day", e.fromEnd); err != nil {
		return fmt.Errorf("date %q: %w", d, err)
	}
	return nil
}

func (e *Expr) parseClock(c string) error {
	parts := strings.Split(c, ":")
	if len(parts) == 2 {
		parts = append(parts, "00")
	}
	if len(parts) != 3 {
		return fmt.Errorf("time %q: expected HOUR:MINUTE[:SECOND]", c)
	}
	var err error
	if e.hour, err = parseField(parts[0], 0, 23, "hour", false); err != nil {
		return fmt.Errorf("time %q: %w", c, err)
	}
	if e.minute, err = parseField(parts[1], 0, 59, "minute", false); err != nil {
		return fmt.Errorf("time %q: %w", c, err)
	}
	if e.second, err = parseField(parts[2], 0, 59, "second", false); err != nil {
		return fmt.Errorf("time %q: %w", c, err)
	}
	return nil
}

// parseField reads "*", or a list of VALUE, A..B and A/STEP (or *
// /STEP), each within [lo, hi]. down: a repetition counts downwards
// (days from the end of the month).
func parseField(s string, lo, hi int, what string, down bool) (field, error) {
	if s == "*" {
		return nil, nil
	}
	var f field
	for _, item := range strings.Split(s, ",") {
		base, stepStr, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 || n > hi {
				return nil, fmt.Errorf("%s %q: the repetition must be a number from 1 to %d", what, item, hi)
			}
			step = n
		}
		r := rng{start: lo, end: hi, step: step}
		if base != "*" {
			a, b, isRange := strings.Cut(base, "..")
			start, err := number(a, lo, hi, what)
			if err != nil {
				return nil, err
			}
			r.start = start
			switch {
			case isRange:
				if r.end, err = number(b, lo, hi, what); err != nil {
					return nil, err
				}
				if r.end < r.start {
					return nil, fmt.Errorf("%s range %q ends before it begins", what, base)
				}
			case !hasStep:
				r.end = start
			}
		} else if !hasStep {
			return nil, nil
		}
		if down && hasStep && base != "*" {
			// ~07/1: the 7th last day and each step towards the end.
			r = rng{start: r.start, end: lo, step: step, down: true}
		}
		f = append(f, r)
	}
	return f, nil
}

func number(s string, lo, hi int, what string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s %q is not a number from %d to %d", what, s, lo, hi)
	}
	return n, nil
}

// searchYears bounds the search for the next elapse: 29 February of a
// year divisible by 4 may be 8 years away (2096, 2104).
const searchYears = 9

// Next is the first instant strictly after after at which the expression
// elapses, and false if it never does again (a date in the past, or none
// within nine years).
func (e *Expr) Next(after time.Time) (time.Time, bool) {
	// Wall-clock search from the next whole second.
	start := after.In(e.loc).Truncate(time.Second).Add(time.Second)
	y, m, d := start.Date()
	h, mi, s := start.Clock()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // a calendar day, free of DST
	first := true
	for limit := day.AddDate(searchYears, 0, 0); !day.After(limit); day = day.AddDate(0, 0, 1) {
		if !first {
			h, mi, s = 0, 0, 0
		}
		first = false
		y, m, d = day.Date()
		if !e.year.match(y) {
			if len(e.year) > 0 && e.year.next(y, 2199) < 0 {
				return time.Time{}, false
			}
			day = time.Date(y+1, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
			continue
		}
		if !e.month.match(int(m)) {
			day = time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
			continue
		}
		if !e.dayMatch(y, m, d) || e.weekdays != 0 && e.weekdays&(1<<day.Weekday()) == 0 {
			continue
		}
		if t, ok := e.onDay(y, m, d, h, mi, s, after); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

func (e *Expr) dayMatch(y int, m time.Month, d int) bool {
	if !e.fromEnd {
		return e.day.match(d)
	}
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return e.day.match(last - d + 1)
}

// onDay is the first wall time on day y-m-d at or after h:mi:s that the
// expression names, exists in the zone, and is after after.
func (e *Expr) onDay(y int, m time.Month, d, h, mi, s int, after time.Time) (time.Time, bool) {
	for hh := e.hour.next(h, 23); hh >= 0; hh = e.hour.next(hh+1, 23) {
		m0 := 0
		if hh == h {
			m0 = mi
		}
		for mm := e.minute.next(m0, 59); mm >= 0; mm = e.minute.next(mm+1, 59) {
			s0 := 0
			if hh == h && mm == mi {
				s0 = s
			}
			for ss := e.second.next(s0, 59); ss >= 0; ss = e.second.next(ss+1, 59) {
				if t, ok := e.instant(y, m, d, hh, mm, ss, after); ok {
					return t, true
				}
			}
		}
	}
	return time.Time{}, false
}

// instant is the wall time in the zone: none if it does not exist (a
// gap when clocks go forward); the first of two occurrences (clocks go
// back) unless only the second is after after.
func (e *Expr) instant(y int, m time.Month, d, hh, mm, ss int, after time.Time) (time.Time, bool) {
	t := time.Date(y, m, d, hh, mm, ss, 0, e.loc)
	if !sameWall(t, y, m, d, hh, mm, ss) {
		return time.Time{}, false
	}
	// The earlier occurrence, if the wall time happens twice.
	for _, back := range []time.Duration{time.Hour, 30 * time.Minute, 2 * time.Hour} {
		if u := t.Add(-back); sameWall(u, y, m, d, hh, mm, ss) {
			if u.After(after) {
				return u, true
			}
			break
		}
	}
	if !t.After(after) {
		// The later occurrence, if any.
		for _, fwd := range []time.Duration{time.Hour, 30 * time.Minute, 2 * time.Hour} {
			if u := t.Add(fwd); sameWall(u, y, m, d, hh, mm, ss) && u.After(after) {
				return u, true
			}
		}
		return time.Time{}, false
	}
	return t, true
}

func sameWall(t time.Time, y int, m time.Month, d, hh, mm, ss int) bool {
	ty, tm, td := t.Date()
	th, tmi, ts := t.Clock()
	return ty == y && tm == m && td == d && th == hh && tmi == mm && ts == ss
}
