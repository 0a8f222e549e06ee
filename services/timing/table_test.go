package timing

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/calendar"
)

var update = flag.Bool("update", false, "rewrite testdata/next.txt")

// TestNextTable is the whole decision table of Next: every kind of
// timer, in every situation (never fired, fired and not due yet, a due
// time passed), for every mode, at 2026-03-10 12:30 UTC, in
// testdata/next.txt. Run with -update to rewrite it, then review the
// diff.
func TestNextTable(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)
	daily, err := calendar.Parse("daily", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m int) time.Time { return time.Date(2026, 3, 10, h, m, 0, 0, time.UTC) }
	type situation struct {
		name string
		last time.Time
	}
	kinds := []struct {
		name  string
		timer services.Timer
		cal   *calendar.Expr
		sits  []situation
	}{
		{"calendar daily", services.Timer{Calendar: "daily"}, daily,
			[]situation{{"never fired", time.Time{}}, {"fired today", at(0, 0)}, {"missed two days", at(0, 0).AddDate(0, 0, -2)}}},
		{"calendar daily persistent", services.Timer{Calendar: "daily", Persistent: true}, daily,
			[]situation{{"never fired", time.Time{}}, {"fired today", at(0, 0)}, {"missed two days", at(0, 0).AddDate(0, 0, -2)}}},
		{"every 1h", services.Timer{Every: time.Hour}, nil,
			[]situation{{"never fired", time.Time{}}, {"fired 12:00", at(12, 0)}, {"missed since 10:00", at(10, 0)}}},
		{"every 1h persistent", services.Timer{Every: time.Hour, Persistent: true}, nil,
			[]situation{{"never fired", time.Time{}}, {"fired 12:00", at(12, 0)}, {"missed since 10:00", at(10, 0)}}},
		{"at 13:00", services.Timer{At: at(13, 0)}, nil,
			[]situation{{"not run", time.Time{}}, {"ran", at(13, 0)}}},
		{"at 12:00 (passed)", services.Timer{At: at(12, 0)}, nil,
			[]situation{{"not run", time.Time{}}, {"ran", at(12, 0)}}},
	}
	modes := []struct {
		name string
		mode Mode
	}{{"fired", Fired}, {"boot", Boot}, {"reexec", Reexec}}
	stamp := func(v time.Time) string { return v.Format("01-02 15:04") }
	var b strings.Builder
	fmt.Fprintf(&b, "# now %s UTC; due, at (when it fires), keep (what is kept of the firing)\n", now.Format(time.DateTime))
	for _, k := range kinds {
		fmt.Fprintf(&b, "\n# %s\n", k.name)
		for _, s := range k.sits {
			for _, m := range modes {
				p := Next(k.timer, k.cal, s.last, now, m.mode, 0)
				out := "never"
				if !p.Never() {
					out = fmt.Sprintf("due %s  at %s  keep %s", stamp(p.Due), stamp(p.At), stamp(p.Keep))
					if p.CatchUp {
						out += "  catch-up"
					}
				}
				fmt.Fprintf(&b, "%-20s %-7s -> %s\n", s.name, m.name, out)
			}
		}
	}
	got := b.String()
	const path = "testdata/next.txt"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestNextTable -update ./services/timing)", err)
	}
	if got != string(want) {
		t.Errorf("the table changed; run with -update and review the diff.\ngot:\n%s", got)
	}
}
