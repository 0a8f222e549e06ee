package timercmd

import (
	"testing"
	"time"
)

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0ms", 120 * time.Millisecond: "120ms", 4 * time.Second: "4s", 4*time.Second + 900*time.Millisecond: "4s",
		23*time.Minute + 5*time.Second: "23min 5s", time.Hour: "1h", 2*time.Hour + 3*time.Minute: "2h 3min",
		26 * time.Hour: "1 day 2h", 72 * time.Hour: "3 days", -time.Second: "0ms",
	} {
		if got := Span(d); got != want {
			t.Errorf("Span(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 30, 0, 0, time.UTC)
	tests := []struct {
		kind, value string
		want        time.Time
		err         bool
	}{
		{"in", "10m", now.Add(10 * time.Minute), false},
		{"in", "1h30m", now.Add(90 * time.Minute), false},
		{"in", "2d", now.Add(48 * time.Hour), false},
		{"in", "90", now.Add(90 * time.Second), false},
		{"in", "soon", time.Time{}, true},
		{"in", "-5m", time.Time{}, true},
		{"at", "16:00", time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC), false},
		{"at", "15:00", time.Date(2026, 12, 5, 15, 0, 0, 0, time.UTC), false}, // passed today: tomorrow
		{"at", "15:30:00", time.Date(2026, 12, 5, 15, 30, 0, 0, time.UTC), false},
		{"at", "2026-12-31 23:59", time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), false},
		{"at", "2026-12-31T23:59:30Z", time.Date(2026, 12, 31, 23, 59, 30, 0, time.UTC), false},
		{"at", "teatime", time.Time{}, true},
		{"on", "monday", time.Time{}, true},
	}
	for _, tc := range tests {
		got, err := ParseWhen(tc.kind, tc.value, now)
		if (err != nil) != tc.err || !got.Equal(tc.want) {
			t.Errorf("ParseWhen(%s %q) = %v, %v; want %v (error %v)", tc.kind, tc.value, got, err, tc.want, tc.err)
		}
	}
}
