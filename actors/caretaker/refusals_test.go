package caretaker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestRefusalLimiter(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	type refusal struct{ who, what string }
	for _, tc := range []struct {
		name     string
		refusals []refusal
		recorded []string // callers whose refusal is recorded in full, in order
		summary  []string // "who: message" at the window's end
	}{
		{
			name:     "one refusal",
			refusals: []refusal{{"uid 1003", "'start' on 'web'"}},
			recorded: []string{"uid 1003"},
		},
		{
			name: "a caller's first refusal in full, the rest counted",
			refusals: []refusal{
				{"uid 1003", "'start' on 'web'"}, {"uid 1003", "'stop' on 'web'"},
				{"uid 1003", "'stop' on 'db'"}, {"uid 1004", "'status' on 'web'"},
			},
			recorded: []string{"uid 1003", "uid 1004"},
			summary:  []string{"uid 1003: refused 2 more times in 1m0s (the last: 'stop' on 'db')"},
		},
		{
			name: "at most refusalDetails in full, all callers together",
			refusals: func() []refusal {
				var rs []refusal
				for i := range refusalDetails + 2 {
					rs = append(rs, refusal{fmt.Sprintf("uid %d", 2000+i), "'start' on 'web'"})
				}
				return rs
			}(),
			recorded: func() []string {
				var ws []string
				for i := range refusalDetails {
					ws = append(ws, fmt.Sprintf("uid %d", 2000+i))
				}
				return ws
			}(),
			summary: []string{
				fmt.Sprintf("uid %d: refused once more in 1m0s (the last: 'start' on 'web')", 2000+refusalDetails),
				fmt.Sprintf("uid %d: refused once more in 1m0s (the last: 'start' on 'web')", 2000+refusalDetails+1),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := refusalLimiter{window: time.Minute}
			var recorded []string
			for i, r := range tc.refusals {
				rec, open := l.refuse(r.who, r.what, t0.Add(time.Duration(i)*time.Second))
				if open != (i == 0) {
					t.Errorf("refusal %d: open %v", i, open)
				}
				if rec {
					recorded = append(recorded, r.who)
				}
			}
			if !slices.Equal(recorded, tc.recorded) {
				t.Errorf("recorded %q, want %q", recorded, tc.recorded)
			}
			var summary []string
			for _, s := range l.flush() {
				summary = append(summary, s.Who+": "+s.Message)
			}
			if !slices.Equal(summary, tc.summary) {
				t.Errorf("summary %q, want %q", summary, tc.summary)
			}
			// A new window: the first refusal is recorded again.
			if rec, open := l.refuse("uid 1003", "'start' on 'web'", t0.Add(time.Hour)); !rec || !open {
				t.Errorf("after the window: recorded %v, open %v", rec, open)
			}
		})
	}
}

// TestRefusalLimiterBounds: whatever the callers do (many fresh peer IDs
// among them), the table stays bounded, a window costs at most
// refusalDetails + refusalSummaries + 1 events, and every refusal is
// either recorded or counted in a summary.
func TestRefusalLimiterBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	for round := range 50 {
		l := refusalLimiter{window: time.Minute}
		total, recorded := 0, 0
		callers := 1 + r.IntN(5*refusalCallers)
		n := r.IntN(20000)
		for i := range n {
			who := fmt.Sprintf("peer %d", r.IntN(callers))
			if rec, _ := l.refuse(who, "'start' on 'web'", t0.Add(time.Duration(i))); rec {
				recorded++
			}
			total++
			if len(l.callers) > refusalCallers {
				t.Fatalf("round %d: %d callers kept, bound %d", round, len(l.callers), refusalCallers)
			}
		}
		summary := l.flush()
		if recorded > refusalDetails || len(summary) > refusalSummaries+1 {
			t.Fatalf("round %d: %d recorded and %d summaries", round, recorded, len(summary))
		}
		counted := 0
		for _, s := range summary {
			counted += s.Count
		}
		if recorded+counted != total {
			t.Fatalf("round %d: %d recorded + %d counted != %d refusals", round, recorded, counted, total)
		}
		if l.callers != nil || !l.start.IsZero() {
			t.Fatalf("round %d: flush kept state", round)
		}
	}
}
