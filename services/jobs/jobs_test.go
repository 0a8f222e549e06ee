package jobs

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)

func TestExpectationEdges(t *testing.T) {
	e := Expect{Name: "backup", Every: 24 * time.Hour, Grace: time.Hour}
	for _, c := range []struct {
		name    string
		now     time.Time
		alerted int
		late    int
		next    time.Time
	}{
		{"just reported", t0, 0, 0, t0.Add(25 * time.Hour)},
		{"inside the period", t0.Add(24 * time.Hour), 0, 0, t0.Add(25 * time.Hour)},
		{"inside the grace", t0.Add(25*time.Hour - time.Nanosecond), 0, 0, t0.Add(25 * time.Hour)},
		{"at the deadline", t0.Add(25 * time.Hour), 0, 1, t0.Add(49 * time.Hour)},
		{"late, already alerted", t0.Add(30 * time.Hour), 1, 0, t0.Add(49 * time.Hour)},
		{"second period missed", t0.Add(49 * time.Hour), 1, 2, t0.Add(73 * time.Hour)},
		{"three periods missed while down: one alert", t0.Add(74 * time.Hour), 0, 3, t0.Add(97 * time.Hour)},
	} {
		late, next := e.Check(t0, c.alerted, c.now)
		if late != c.late || !next.Equal(c.next) {
			t.Errorf("%s: Check = %d, %s; want %d, %s", c.name, late, next, c.late, c.next)
		}
	}
	if late, next := (Expect{}).Check(t0, 0, t0.Add(1000*time.Hour)); late != 0 || !next.IsZero() {
		t.Errorf("no expectation: %d %s", late, next)
	}
}

// TestLateOncePerPeriod walks a fake clock a tick at a time: one alert
// per missed period, none between, and a report makes the job on time.
func TestLateOncePerPeriod(t *testing.T) {
	e := Expect{Every: 2 * time.Second, Grace: time.Second}
	s := Summary{Key: "nightly", Ref: t0}
	var alerts []time.Duration
	for now := t0; now.Before(t0.Add(8 * time.Second)); now = now.Add(100 * time.Millisecond) {
		if late, _ := e.Check(s.Ref, s.Alerted, now); late > 0 {
			s.Alerted = late
			alerts = append(alerts, now.Sub(t0))
		}
	}
	want := []time.Duration{3 * time.Second, 5 * time.Second, 7 * time.Second}
	if len(alerts) != len(want) {
		t.Fatalf("alerts at %v, want %v", alerts, want)
	}
	for i := range want {
		if alerts[i] != want[i] {
			t.Fatalf("alerts at %v, want %v", alerts, want)
		}
	}
	if got := s.State(&e, t0.Add(8*time.Second)); got != StateLate {
		t.Fatalf("state %s, want late", got)
	}
	// A run after late resolves it.
	s.Heard(t0.Add(8 * time.Second))
	s.Result = ResultOK
	if s.Alerted != 0 || s.State(&e, t0.Add(9*time.Second)) != StateOK {
		t.Fatalf("after a report: alerted %d, state %s", s.Alerted, s.State(&e, t0.Add(9*time.Second)))
	}
	if late, next := e.Check(s.Ref, s.Alerted, t0.Add(9*time.Second)); late != 0 || !next.Equal(t0.Add(11*time.Second)) {
		t.Fatalf("after a report: late %d, next %s", late, next)
	}
}

func TestStates(t *testing.T) {
	e := &Expect{Every: time.Hour}
	for _, c := range []struct {
		s    Summary
		e    *Expect
		want string
	}{
		{Summary{Ref: t0}, e, StatePending},
		{Summary{Ref: t0, Result: ResultOK}, e, StateOK},
		{Summary{Ref: t0, Result: ResultFailed}, nil, StateFailed},
		{Summary{Ref: t0, Result: ResultOK, Running: 3}, e, StateRunning},
		{Summary{Ref: t0.Add(-2 * time.Hour), Result: ResultOK, Running: 3}, e, StateLate},
		{Summary{Ref: t0.Add(-2 * time.Hour), Result: ResultOK}, nil, StateOK},
	} {
		if got := c.s.State(c.e, t0); got != c.want {
			t.Errorf("%+v: state %s, want %s", c.s, got, c.want)
		}
	}
}

func TestNamesAndKeys(t *testing.T) {
	for _, n := range []string{"backup", "db.dump", "a@b-c_d", strings.Repeat("x", 64)} {
		if err := CheckName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", "-x", "1001/backup", "a b", strings.Repeat("x", 65), "../x", "é"} {
		if CheckName(n) == nil {
			t.Errorf("%q accepted", n)
		}
	}
	if Key("backup", 1001, true) != "backup" || Key("backup", 1001, false) != "1001/backup" {
		t.Error("keys")
	}
}

func TestTailIsBounded(t *testing.T) {
	var tl Tail
	for i := range 200 {
		tl.Write([]byte(strings.Repeat("y", i) + "\n"))
	}
	tl.Write([]byte(strings.Repeat("z", 5000) + "\n"))
	tl.Write([]byte("\xff\xfe\x1b[31m\r\n"))
	tl.Write([]byte("unfinished"))
	lines := tl.Lines()
	total := 0
	for _, l := range lines {
		total += len(l)
		if len(l) > MaxLineBytes+len(" [cut]") {
			t.Fatalf("line of %d bytes kept", len(l))
		}
		if !strings.Contains(l, "") || strings.ContainsAny(l, "\n") {
			t.Fatalf("bad line %q", l)
		}
	}
	if len(lines) > MaxTailLines || total > MaxTailBytes+MaxLineBytes {
		t.Fatalf("%d lines, %d bytes", len(lines), total)
	}
	if lines[len(lines)-1] != "unfinished" || !strings.Contains(lines[len(lines)-2], "\uFFFD") {
		t.Fatalf("last lines %q", lines[len(lines)-3:])
	}
	if got := BoundLines([]string{strings.Repeat("q", 3000)}); len(got) != 1 || !strings.HasSuffix(got[0], "[cut]") {
		t.Fatalf("BoundLines %q", got)
	}
	if got := BoundArgv([]string{strings.Repeat("a", 3000), "b", strings.Repeat("c", 3000), strings.Repeat("d", 3000), strings.Repeat("e", 3000), "f"}); len(got) != 5 || got[4] != "[...]" {
		t.Fatalf("BoundArgv %d", len(got))
	}
}
