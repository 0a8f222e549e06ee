package history

import (
	"strings"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.Local)
	for _, c := range []struct {
		args   []string
		want   Query
		follow bool
		err    string
	}{
		{args: nil, want: Query{}},
		{args: []string{"--since", "90m"}, want: Query{Since: now.Add(-90 * time.Minute)}},
		{args: []string{"--since", "3d", "-f"}, want: Query{Since: now.Add(-72 * time.Hour)}, follow: true},
		{args: []string{"--since", "2026-12-01"}, want: Query{Since: time.Date(2026, 12, 1, 0, 0, 0, 0, time.Local)}},
		{args: []string{"--limit", "5", "--service", "web"}, want: Query{Limit: 5, Service: "web"}},
		// A page forward: the first N after SEQ.
		{args: []string{"--after", "7", "--limit", "5"}, want: Query{AfterSeq: 7, First: 5}},
		{args: []string{"--since", "yesterday"}, err: `--since: "yesterday" is neither a duration`},
		{args: []string{"--since", "-5m"}, err: `--since: "-5m"`},
		{args: []string{"--limit", "-1"}, err: `--limit: expected a non-negative number, got "-1"`},
		{args: []string{"--after", "x"}, err: `--after: expected an event number, got "x"`},
		{args: []string{"--limit"}, err: "--limit needs a value"},
		{args: []string{"--bogus", "1"}, err: `unknown argument "--bogus"`},
	} {
		q, follow, err := ParseQuery(c.args, now)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || !q.Since.Equal(c.want.Since) || q.Limit != c.want.Limit || q.First != c.want.First || q.AfterSeq != c.want.AfterSeq || q.Service != c.want.Service || follow != c.follow {
			t.Errorf("%q: got %+v follow=%v err=%v, want %+v follow=%v", c.args, q, follow, err, c.want, c.follow)
		}
	}
}
