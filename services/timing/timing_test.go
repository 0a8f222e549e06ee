package timing

import (
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/calendar"
)

func TestNext(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04:05", s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cal := func(s string) *calendar.Expr {
		e, err := calendar.Parse(s, ny)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	daily, persistentDaily := services.Timer{Calendar: "daily"}, services.Timer{Calendar: "daily", Persistent: true}
	every := services.Timer{Every: 10 * time.Minute}
	persistentEvery := services.Timer{Every: 10 * time.Minute, Persistent: true}
	tests := []struct {
		name   string
		timer  services.Timer
		cal    string
		last   time.Time
		now    time.Time
		mode   Mode
		jitter float64
		want   Plan
	}{
		{name: "calendar, never fired: the next elapse", timer: daily, cal: "daily", now: at("2026-03-10 12:00:00"), mode: Boot,
			want: Plan{Due: at("2026-03-11 00:00:00"), At: at("2026-03-11 00:00:00")}},
		{name: "calendar, after a firing: the one after its due time", timer: daily, cal: "daily", last: at("2026-03-11 00:00:00"), now: at("2026-03-11 00:00:03"),
			want: Plan{Due: at("2026-03-12 00:00:00"), At: at("2026-03-12 00:00:00")}},
		{name: "persistent calendar, a firing missed while down: once, now", timer: persistentDaily, cal: "daily",
			last: at("2026-03-08 00:00:00"), now: at("2026-03-11 09:00:00"), mode: Boot,
			want: Plan{Due: at("2026-03-09 00:00:00"), At: at("2026-03-11 09:00:00"), Keep: at("2026-03-11 09:00:00"), CatchUp: true}},
		{name: "persistent calendar, after its catch-up: the next elapse after now, not the other missed ones", timer: persistentDaily, cal: "daily",
			last: at("2026-03-09 00:00:00"), now: at("2026-03-11 09:00:01"),
			want: Plan{Due: at("2026-03-12 00:00:00"), At: at("2026-03-12 00:00:00")}},
		{name: "persistent calendar, re-armed with nothing missed (a re-exec): no catch-up", timer: persistentDaily, cal: "daily",
			last: at("2026-03-11 00:00:00"), now: at("2026-03-11 09:00:00"), mode: Boot,
			want: Plan{Due: at("2026-03-12 00:00:00"), At: at("2026-03-12 00:00:00")}},
		{name: "persistent calendar, never fired: no catch-up", timer: persistentDaily, cal: "daily", now: at("2026-03-11 09:00:00"), mode: Boot,
			want: Plan{Due: at("2026-03-12 00:00:00"), At: at("2026-03-12 00:00:00")}},
		{name: "calendar not persistent, missed while down: skipped", timer: daily, cal: "daily",
			last: at("2026-03-08 00:00:00"), now: at("2026-03-11 09:00:00"), mode: Boot,
			want: Plan{Due: at("2026-03-12 00:00:00"), At: at("2026-03-12 00:00:00")}},
		{name: "calendar across DST: the wall time stays", timer: daily, cal: "*-*-* 02:30", last: at("2026-03-07 02:30:00"), now: at("2026-03-07 02:30:01"),
			want: Plan{Due: at("2026-03-09 02:30:00"), At: at("2026-03-09 02:30:00")}},
		{name: "calendar month end", timer: daily, cal: "*-*~01 23:00", last: at("2026-01-31 23:00:00"), now: at("2026-01-31 23:00:00"),
			want: Plan{Due: at("2026-02-28 23:00:00"), At: at("2026-02-28 23:00:00")}},
		{name: "calendar leap day", timer: daily, cal: "*-02-29 12:00", last: at("2024-02-29 12:00:00"), now: at("2024-02-29 12:00:00"),
			want: Plan{Due: at("2028-02-29 12:00:00"), At: at("2028-02-29 12:00:00")}},
		{name: "randomized delay on a calendar", timer: services.Timer{Calendar: "daily", RandomizedDelay: time.Hour}, cal: "daily", now: at("2026-03-10 12:00:00"), mode: Boot, jitter: 0.5,
			want: Plan{Due: at("2026-03-11 00:00:00"), At: at("2026-03-11 00:30:00")}},
		{name: "randomized delay on a catch-up: after now", timer: services.Timer{Calendar: "daily", Persistent: true, RandomizedDelay: time.Hour}, cal: "daily",
			last: at("2026-03-08 00:00:00"), now: at("2026-03-11 09:00:00"), mode: Boot, jitter: 0.25,
			want: Plan{Due: at("2026-03-09 00:00:00"), At: at("2026-03-11 09:15:00"), Keep: at("2026-03-11 09:00:00"), CatchUp: true}},

		{name: "every, never fired: an interval from now", timer: every, now: at("2026-03-10 12:00:00"), mode: Boot,
			want: Plan{Due: at("2026-03-10 12:10:00"), At: at("2026-03-10 12:10:00")}},
		{name: "every, after a firing: an interval after its due time", timer: every, last: at("2026-03-10 12:10:00"), now: at("2026-03-10 12:10:00"),
			want: Plan{Due: at("2026-03-10 12:20:00"), At: at("2026-03-10 12:20:00")}},
		{name: "every, re-armed (a re-exec) within the interval: carries on", timer: every, last: at("2026-03-10 12:10:00"), now: at("2026-03-10 12:15:00"), mode: Boot,
			want: Plan{Due: at("2026-03-10 12:20:00"), At: at("2026-03-10 12:20:00")}},
		{name: "every, missed while down: skipped", timer: every, last: at("2026-03-10 12:10:00"), now: at("2026-03-10 14:00:00"), mode: Boot,
			want: Plan{Due: at("2026-03-10 14:10:00"), At: at("2026-03-10 14:10:00")}},
		{name: "persistent every, missed while down: once, now", timer: persistentEvery, last: at("2026-03-10 12:10:00"), now: at("2026-03-10 14:00:00"), mode: Boot,
			want: Plan{Due: at("2026-03-10 12:20:00"), At: at("2026-03-10 14:00:00"), Keep: at("2026-03-10 14:00:00"), CatchUp: true}},
		{name: "every, the daemon late (a suspend): once now, then from now", timer: every, last: at("2026-03-10 12:10:00"), now: at("2026-03-10 14:00:00"),
			want: Plan{Due: at("2026-03-10 12:20:00"), At: at("2026-03-10 14:00:00"), Keep: at("2026-03-10 14:00:00")}},
		{name: "every, re-exec over a due time: once now, no catch-up", timer: every, last: at("2026-03-10 12:10:00"), now: at("2026-03-10 12:20:01"), mode: Reexec,
			want: Plan{Due: at("2026-03-10 12:20:00"), At: at("2026-03-10 12:20:01"), Keep: at("2026-03-10 12:20:01")}},
		{name: "calendar, re-exec over a due time: once now, though not persistent", timer: daily, cal: "daily", last: at("2026-03-10 00:00:00"), now: at("2026-03-11 00:00:01"), mode: Reexec,
			want: Plan{Due: at("2026-03-11 00:00:00"), At: at("2026-03-11 00:00:01"), Keep: at("2026-03-11 00:00:01")}},
		{name: "calendar, re-exec with nothing due: the next elapse", timer: daily, cal: "daily", last: at("2026-03-10 00:00:00"), now: at("2026-03-10 10:00:00"), mode: Reexec,
			want: Plan{Due: at("2026-03-11 00:00:00"), At: at("2026-03-11 00:00:00")}},
		{name: "calendar, fired late (a suspend): skipped to the next", timer: daily, cal: "daily", last: at("2026-03-08 00:00:00"), now: at("2026-03-10 10:00:00"),
			want: Plan{Due: at("2026-03-11 00:00:00"), At: at("2026-03-11 00:00:00")}},
		{name: "every with a randomized delay", timer: services.Timer{Every: time.Minute, RandomizedDelay: 10 * time.Second}, last: at("2026-03-10 12:00:00"), now: at("2026-03-10 12:00:00"), jitter: 0.999,
			want: Plan{Due: at("2026-03-10 12:01:00"), At: at("2026-03-10 12:01:00").Add(9990 * time.Millisecond)}},

		{name: "at, in the future", timer: services.Timer{At: at("2026-03-10 13:00:00")}, now: at("2026-03-10 12:00:00"), mode: Boot,
			want: Plan{Due: at("2026-03-10 13:00:00"), At: at("2026-03-10 13:00:00")}},
		{name: "at, passed during a re-exec: now", timer: services.Timer{At: at("2026-03-10 13:00:00")}, now: at("2026-03-10 13:00:02"), mode: Boot,
			want: Plan{Due: at("2026-03-10 13:00:00"), At: at("2026-03-10 13:00:02"), Keep: at("2026-03-10 13:00:00")}},
		{name: "at, in the future, keeps its own time", timer: services.Timer{At: at("2026-03-10 13:00:00"), RandomizedDelay: time.Minute}, now: at("2026-03-10 12:00:00"), jitter: 0.5,
			want: Plan{Due: at("2026-03-10 13:00:00"), At: at("2026-03-10 13:00:30"), Keep: at("2026-03-10 13:00:00")}},
		{name: "at, fired: never again", timer: services.Timer{At: at("2026-03-10 13:00:00")}, last: at("2026-03-10 13:00:00"), now: at("2026-03-10 13:00:02"), mode: Boot,
			want: Plan{}},
		{name: "a calendar that never elapses again", timer: daily, cal: "2026-01-01", now: at("2026-03-10 12:00:00"), mode: Boot, want: Plan{}},
		{name: "no schedule", timer: services.Timer{}, now: at("2026-03-10 12:00:00"), want: Plan{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c *calendar.Expr
			if tc.cal != "" {
				c = cal(tc.cal)
			}
			got := Next(tc.timer, c, tc.last, tc.now, tc.mode, tc.jitter)
			wantKeep := tc.want.Keep
			if wantKeep.IsZero() {
				wantKeep = tc.want.Due
			}
			if !got.Due.Equal(tc.want.Due) || !got.At.Equal(tc.want.At) || got.CatchUp != tc.want.CatchUp || !tc.want.At.IsZero() && !got.Keep.Equal(wantKeep) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if got.Never() != tc.want.At.IsZero() {
				t.Fatalf("Never() = %v", got.Never())
			}
		})
	}

}

// TestRandomizedDelayBounds: any jitter in [0, 1) delays a firing by
// [0, randomized-delay), never before its due time nor past the bound.
func TestRandomizedDelayBounds(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	timer := services.Timer{Every: time.Minute, RandomizedDelay: 5 * time.Minute}
	for _, j := range []float64{0, 1e-9, 0.1, 0.5, 0.999999, -1, 1, 2} {
		p := Next(timer, nil, now, now, Fired, j)
		if d := p.At.Sub(p.Due); d < 0 || d >= timer.RandomizedDelay {
			t.Errorf("jitter %v: delay %v out of [0, %v)", j, d, timer.RandomizedDelay)
		}
	}
}

// TestCatchUpOnce: a persistent timer armed after a long stop fires
// once; what it keeps makes the next plan, whether the timer just fired
// or the daemon was re-executed or restarted right after, be in the
// future: never a second catch-up.
func TestCatchUpOnce(t *testing.T) {
	e, _ := calendar.Parse("hourly", time.UTC)
	timer := services.Timer{Calendar: "hourly", Persistent: true}
	last := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := time.Date(2026, 3, 10, 12, 30, 0, 0, time.UTC)
	p := Next(timer, e, last, now, Boot, 0)
	if !p.CatchUp || !p.At.Equal(now) || !p.Keep.Equal(now) {
		t.Fatalf("armed: %+v, want a catch-up now", p)
	}
	for _, mode := range []Mode{Fired, Reexec, Boot} {
		q := Next(timer, e, p.Keep, now.Add(time.Second), mode, 0)
		if q.CatchUp || !q.At.Equal(time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)) {
			t.Errorf("%v after the catch-up: %+v, want 13:00", mode, q)
		}
	}
}

func TestOnFire(t *testing.T) {
	tests := []struct {
		overlap         services.Overlap
		running, queued bool
		want            Action
	}{
		{services.OverlapSkip, false, false, Start},
		{services.OverlapSkip, true, false, Skip},
		{"", true, false, Skip},
		{services.OverlapQueue, false, false, Start},
		{services.OverlapQueue, true, false, Queue},
		{services.OverlapQueue, true, true, Skip},
		{services.OverlapKill, false, false, Start},
		{services.OverlapKill, true, false, Restart},
	}
	for _, tc := range tests {
		if got := OnFire(tc.overlap, tc.running, tc.queued); got != tc.want {
			t.Errorf("OnFire(%q, running %v, queued %v) = %v, want %v", tc.overlap, tc.running, tc.queued, got, tc.want)
		}
	}
}
