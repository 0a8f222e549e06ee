package tail

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLogArgsRoundTrip(t *testing.T) {
	a := LogArgs{Lines: 5, Follow: true, Grep: "ERROR|WARN", Exclude: "healthcheck", Since: 5 * time.Minute}
	b, err := ParseLog(a.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if b.Lines != 5 || !b.Follow || b.Grep != a.Grep || b.Exclude != a.Exclude || b.Since != a.Since {
		t.Errorf("round trip: %+v -> %+v", a, b)
	}
	// herd log's own arguments still parse, with its defaults.
	if c, err := ParseLog([]string{"-f"}); err != nil || c.Lines != 10 || !c.Follow || c.Filtered() || c.Backlog() != 10 {
		t.Errorf("-f: %+v %v", c, err)
	}
	for _, bad := range [][]string{{"-n"}, {"-n", "-1"}, {"--grep", "("}, {"--since", "0"}, {"--since", "5m"}, {"--what", "x"}, {"-n", "1", "-n", "2"}, {"--grep", strings.Repeat("a", MaxPattern+1)}} {
		if _, err := ParseLog(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestLogArgsPickAndLive(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.Local)
	at := func(d time.Duration, text string) string {
		return now.Add(-d).Format("2006-01-02 15:04:05") + " " + text
	}
	backlog := []string{
		at(time.Hour, "ERROR old"),
		at(10*time.Minute, "INFO a"),
		at(4*time.Minute, "ERROR one"),
		"a line without a stamp ERROR",
		at(2*time.Minute, "ERROR healthcheck"),
		at(time.Minute, "ERROR two"),
		at(0, "INFO b"),
	}
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"-n", "3"}, backlog[4:]},
		{[]string{"-n", "10", "--grep", "ERROR", "--exclude", "healthcheck"}, []string{backlog[0], backlog[2], backlog[3], backlog[5]}},
		{[]string{"-n", "2", "--grep", "ERROR"}, []string{backlog[4], backlog[5]}},
		{[]string{"-n", "10", "--grep", "ERROR", "--since", "300"}, []string{backlog[2], backlog[3], backlog[4], backlog[5]}},
		{[]string{"-n", "0", "--grep", "ERROR"}, []string{}},
	}
	for _, c := range cases {
		a, err := ParseLog(c.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Pick(backlog, now, Stamp); !slices.Equal(got, c.want) {
			t.Errorf("%q:\n got %q\nwant %q", c.args, got, c.want)
		}
	}
	a, _ := ParseLog([]string{"--grep", "ERROR", "--exclude", "health"})
	if got := a.Live([]string{"INFO x", "ERROR y", "ERROR healthcheck"}); !slices.Equal(got, []string{"ERROR y"}) {
		t.Errorf("live: %q", got)
	}
	if a.Backlog() != MaxLines {
		t.Errorf("a filtered backlog reads %d lines", a.Backlog())
	}
	if a, _ := ParseLog([]string{"-n", "0", "--grep", "x"}); a.Backlog() != 0 {
		t.Errorf("-n 0 reads %d lines", a.Backlog())
	}
}
