package calendar

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones of the DST cases, whatever the machine has
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestNext: when an expression next elapses, after an instant, as
// systemd.time(7) says (systemd-analyze calendar --iterations gives the
// same answers).
func TestNext(t *testing.T) {
	ny, berlin := zone(t, "America/New_York"), zone(t, "Europe/Berlin")
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	in := func(l *time.Location, s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, l)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, expr string
		loc        *time.Location
		after      time.Time
		want       []time.Time // successive elapses
	}{
		{"daily", "daily", nil, utc("2026-03-10 12:00:00"), []time.Time{utc("2026-03-11 00:00:00"), utc("2026-03-12 00:00:00")}},
		{"daily exactly at midnight is the next day", "daily", nil, utc("2026-03-11 00:00:00"), []time.Time{utc("2026-03-12 00:00:00")}},
		{"hourly", "hourly", nil, utc("2026-03-10 12:00:00"), []time.Time{utc("2026-03-10 13:00:00"), utc("2026-03-10 14:00:00")}},
		{"minutely", "minutely", nil, utc("2026-03-10 12:00:30"), []time.Time{utc("2026-03-10 12:01:00")}},
		{"weekly is Monday midnight", "weekly", nil, utc("2026-03-11 09:00:00"), []time.Time{utc("2026-03-16 00:00:00"), utc("2026-03-23 00:00:00")}},
		{"monthly", "monthly", nil, utc("2026-01-31 23:59:59"), []time.Time{utc("2026-02-01 00:00:00"), utc("2026-03-01 00:00:00")}},
		{"yearly", "yearly", nil, utc("2026-06-01 00:00:00"), []time.Time{utc("2027-01-01 00:00:00")}},
		{"quarterly", "quarterly", nil, utc("2026-02-01 00:00:00"), []time.Time{utc("2026-04-01 00:00:00"), utc("2026-07-01 00:00:00")}},
		{"semiannually", "semiannually", nil, utc("2026-02-01 00:00:00"), []time.Time{utc("2026-07-01 00:00:00"), utc("2027-01-01 00:00:00")}},
		{"weekdays at 02:30, over a weekend", "Mon..Fri 02:30", nil, utc("2026-03-13 03:00:00"), // a Friday
			[]time.Time{utc("2026-03-16 02:30:00"), utc("2026-03-17 02:30:00")}},
		{"weekday list", "Sat,Sun 10:00", nil, utc("2026-03-10 00:00:00"), []time.Time{utc("2026-03-14 10:00:00"), utc("2026-03-15 10:00:00"), utc("2026-03-21 10:00:00")}},
		{"weekday range wraps", "Sat..Mon 10:00", nil, utc("2026-03-14 11:00:00"), []time.Time{utc("2026-03-15 10:00:00"), utc("2026-03-16 10:00:00"), utc("2026-03-21 10:00:00")}},
		{"full weekday names", "Monday,Friday 08:00", nil, utc("2026-03-10 00:00:00"), []time.Time{utc("2026-03-13 08:00:00"), utc("2026-03-16 08:00:00")}},
		{"first of the month", "*-*-01 00:00:00", nil, utc("2026-01-15 00:00:00"), []time.Time{utc("2026-02-01 00:00:00")}},
		{"the 31st skips short months", "*-*-31 12:00", nil, utc("2026-03-31 12:00:00"), []time.Time{utc("2026-05-31 12:00:00"), utc("2026-07-31 12:00:00"), utc("2026-08-31 12:00:00")}},
		{"last day of the month", "*-*~01", nil, utc("2026-01-31 00:00:00"), []time.Time{utc("2026-02-28 00:00:00"), utc("2026-03-31 00:00:00"), utc("2026-04-30 00:00:00")}},
		{"last day of February in a leap year", "*-02~01 06:00", nil, utc("2027-03-01 00:00:00"), []time.Time{utc("2028-02-29 06:00:00"), utc("2029-02-28 06:00:00")}},
		{"last seven days", "*-02~07/1 00:00", nil, utc("2026-02-20 00:00:00"), []time.Time{utc("2026-02-22 00:00:00"), utc("2026-02-23 00:00:00")}},
		{"last Monday of May", "Mon *-05~07/1", nil, utc("2026-01-01 00:00:00"), []time.Time{utc("2026-05-25 00:00:00"), utc("2027-05-31 00:00:00")}},
		{"leap day waits for a leap year", "*-02-29 00:00", nil, utc("2026-03-01 00:00:00"), []time.Time{utc("2028-02-29 00:00:00"), utc("2032-02-29 00:00:00")}},
		{"leap day skips 2100", "*-02-29", nil, utc("2096-03-01 00:00:00"), []time.Time{utc("2104-02-29 00:00:00")}},
		{"month-day without year", "12-25 08:00", nil, utc("2026-12-25 08:00:00"), []time.Time{utc("2027-12-25 08:00:00")}},
		{"a fixed date once", "2027-01-02 03:04:05", nil, utc("2026-01-01 00:00:00"), []time.Time{utc("2027-01-02 03:04:05"), {}}},
		{"a date in the past", "2001-01-01", nil, utc("2026-01-01 00:00:00"), []time.Time{{}}},
		{"minute repetition", "*:0/15", nil, utc("2026-03-10 12:07:00"), []time.Time{utc("2026-03-10 12:15:00"), utc("2026-03-10 12:30:00"), utc("2026-03-10 12:45:00"), utc("2026-03-10 13:00:00")}},
		{"hour range and minute list", "*-*-* 08..10:00,30", nil, utc("2026-03-10 10:15:00"), []time.Time{utc("2026-03-10 10:30:00"), utc("2026-03-11 08:00:00")}},
		{"seconds", "*:*:10/20", nil, utc("2026-03-10 12:00:00"), []time.Time{utc("2026-03-10 12:00:10"), utc("2026-03-10 12:00:30"), utc("2026-03-10 12:00:50"), utc("2026-03-10 12:01:10")}},
		{"fractional after", "*:*:*", nil, utc("2026-03-10 12:00:00").Add(500 * time.Millisecond), []time.Time{utc("2026-03-10 12:00:01")}},
		{"year repetition", "2026/2-01-01", nil, utc("2026-01-01 00:00:00"), []time.Time{utc("2028-01-01 00:00:00"), utc("2030-01-01 00:00:00")}},
		{"zone in the expression", "*-*-* 09:00 Asia/Tokyo", nil, utc("2026-03-10 00:00:00"), []time.Time{utc("2026-03-11 00:00:00")}},
		{"UTC in the expression overrides the location", "daily UTC", ny, utc("2026-03-10 12:00:00"), []time.Time{utc("2026-03-11 00:00:00")}},

		// Clocks go forward in New York on 2026-03-08 at 02:00 (to
		// 03:00): 02:30 does not exist that day and does not elapse.
		{"DST gap skips the day", "*-*-* 02:30", ny, in(ny, "2026-03-07 03:00:00"),
			[]time.Time{in(ny, "2026-03-09 02:30:00")}},
		{"DST gap: an hourly timer skips the missing hour", "hourly", ny, in(ny, "2026-03-08 01:30:00"),
			[]time.Time{in(ny, "2026-03-08 03:00:00"), in(ny, "2026-03-08 04:00:00")}},
		{"DST gap in Berlin", "*-*-* 02:15", berlin, in(berlin, "2026-03-28 03:00:00"),
			[]time.Time{in(berlin, "2026-03-30 02:15:00")}},
		{"daily midnight keeps the wall time over DST", "daily", ny, in(ny, "2026-03-07 12:00:00"),
			[]time.Time{in(ny, "2026-03-08 00:00:00"), in(ny, "2026-03-09 00:00:00")}},
		// Clocks go back on 2026-11-01 at 02:00 (to 01:00): 01:30
		// happens twice and elapses once, at the first (EDT).
		{"DST repeat elapses once", "*-*-* 01:30", ny, in(ny, "2026-10-31 12:00:00"),
			[]time.Time{utc("2026-11-01 05:30:00"), utc("2026-11-02 06:30:00")}},
		{"DST repeat: after the first, only the second is left", "*-*-* 01:30", ny, utc("2026-11-01 06:10:00"), // 01:10 EST
			[]time.Time{utc("2026-11-01 06:30:00"), utc("2026-11-02 06:30:00")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr, tc.loc)
			if err != nil {
				t.Fatal(err)
			}
			at := tc.after
			for i, want := range tc.want {
				got, ok := e.Next(at)
				if want.IsZero() {
					if ok {
						t.Fatalf("elapse %d: got %v, want none", i, got)
					}
					return
				}
				if !ok || !got.Equal(want) {
					t.Fatalf("elapse %d after %v: got %v (%v), want %v", i, at, got, ok, want.UTC())
				}
				at = got
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ expr, want string }{
		{"", "empty calendar expression"},
		{"Funday 10:00", `unknown weekday "Funday"`},
		{"Mo 10:00", `unknown weekday "Mo"`},
		{"25:00", `hour "25"`},
		{"*:60", `minute "60"`},
		{"*-13-01", `month "13"`},
		{"*-*-32", `day "32"`},
		{"*-02-30", "never elapses"},
		{"*-04-31 00:00", "never elapses"},
		{"*-*-* 1:2:3:4", "expected HOUR:MINUTE[:SECOND]"},
		{"*-*-* 5..3:00", "ends before it begins"},
		{"*:0/0", "repetition"},
		{"Mon 10:00 11:00 12:00", "too many parts"},
		{"daily Mars/Olympus", `unknown time zone "Mars/Olympus"`},
		{"1-2-3-4", "expected [YEAR-]MONTH-DAY"},
		{strings.Repeat("1", 300), "longer than"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.expr, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", tc.expr, err, tc.want)
		}
	}
}

// FuzzParse: no expression makes Parse or Next panic or search forever.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"daily", "Mon..Fri 02:30", "*-*~07/1", "2026/2-01-01", "*:*:10/20 UTC"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s, nil)
		if err != nil {
			return
		}
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if n, ok := e.Next(at); ok && !n.After(at) {
			t.Fatalf("%q: next %v is not after %v", s, n, at)
		}
	})
}
