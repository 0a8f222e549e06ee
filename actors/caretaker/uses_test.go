package caretaker

import (
	"fmt"
	"testing"
	"time"
)

func TestUseLimiter(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	type use struct {
		at                  time.Duration
		who, target, action string
		want                string // "" not recorded, else the result
	}
	tests := []struct {
		name string
		uses []use
	}{
		{"a collector's pulls: the first, then one per window with the count", []use{
			{0, "peer C", "facts", "read", "allowed"},
			{time.Minute, "peer C", "facts", "read", ""},
			{59 * time.Minute, "peer C", "facts", "read", ""},
			{time.Hour, "peer C", "facts", "read", "allowed (and 2 more times since 2026-12-04 12:00:00)"},
			{time.Hour + time.Second, "peer C", "facts", "read", ""},
			{3 * time.Hour, "peer C", "facts", "read", "allowed (and once more since 2026-12-04 13:00:00)"},
		}},
		{"after a quiet window, a use is recorded as the first", []use{
			{0, "uid 1000", "web", "status", "allowed"},
			{2 * time.Hour, "uid 1000", "web", "status", "allowed"},
		}},
		{"each caller, target and right on its own", []use{
			{0, "uid 1000", "web", "status", "allowed"},
			{time.Second, "uid 1001", "web", "status", "allowed"},
			{2 * time.Second, "uid 1000", "db", "status", "allowed"},
			{3 * time.Second, "uid 1000", "web", "log", "allowed"},
			{4 * time.Second, "uid 1000", "web", "status", ""},
		}},
		{"rights that change something are all recorded", []use{
			{0, "uid 1000", "web", "start", "allowed"},
			{time.Second, "uid 1000", "web", "start", "allowed"},
			{2 * time.Second, "peer P", "exec", "exec", "allowed"},
			{3 * time.Second, "peer P", "exec", "exec", "allowed"},
			{4 * time.Second, "peer P", "files", "write", "allowed"},
			{5 * time.Second, "peer P", "files", "write", "allowed"},
		}},
		{"reads of files and snapshots are read-only", []use{
			{0, "peer P", "files", "read", "allowed"},
			{time.Second, "peer P", "files", "read", ""},
			{2 * time.Second, "peer P", "read", "snapshot", "allowed"},
			{3 * time.Second, "peer P", "read", "snapshot", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := useLimiter{window: time.Hour}
			for i, u := range tt.uses {
				record, result := l.use(u.who, u.target, u.action, t0.Add(u.at))
				if record != (u.want != "") || result != u.want {
					t.Fatalf("use %d (%s %s on %s at +%v): %v %q, want %q", i, u.who, u.action, u.target, u.at, record, result, u.want)
				}
			}
		})
	}
}

// The table is bounded whatever the callers: new peer IDs past it are
// recorded in full, and entries whose window passed make room again.
func TestUseLimiterIsBounded(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	l := useLimiter{window: time.Hour}
	for i := range 3 * useKeys {
		if record, _ := l.use(fmt.Sprintf("peer %d", i), "facts", "read", t0); !record {
			t.Fatalf("the first use of peer %d was not recorded", i)
		}
	}
	if len(l.seen) != useKeys {
		t.Fatalf("%d entries, want at most %d", len(l.seen), useKeys)
	}
	if record, _ := l.use("peer 5000", "facts", "read", t0.Add(time.Minute)); !record {
		t.Fatal("a use past the full table was not recorded")
	}
	l.use("peer late", "facts", "read", t0.Add(2*time.Hour))
	if _, ok := l.seen[useKey{"peer late", "facts", "read"}]; !ok || len(l.seen) != 1 {
		t.Fatalf("after the window, the table was not swept: %d entries", len(l.seen))
	}
}
