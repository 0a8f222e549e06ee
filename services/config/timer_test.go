package config

import (
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
)

func TestTimer(t *testing.T) {
	s, errs := parseOne(t, `services:
  - name: backup
    command: [backup, --all]
    timer:
      calendar: Mon..Fri 02:30
      randomized-delay: 5m
      persistent: true
      overlap: queue
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	want := services.Timer{Calendar: "Mon..Fri 02:30", RandomizedDelay: 5 * time.Minute, Persistent: true, Overlap: services.OverlapQueue}
	if s.Timer == nil || *s.Timer != want {
		t.Fatalf("timer %+v, want %+v", s.Timer, want)
	}
	if !s.OneShot || s.AutoStart || s.Respawn {
		t.Errorf("a timer service is a one-shot without auto-start nor respawn: one-shot %v auto-start %v respawn %v", s.OneShot, s.AutoStart, s.Respawn)
	}
	s, errs = parseOne(t, `services:
  - name: tick
    command: [date]
    timer: {every: 10m}
`)
	if len(errs) > 0 || s.Timer.Every != 10*time.Minute || s.Timer.Overlap != services.OverlapSkip {
		t.Fatalf("every: %+v %v", s.Timer, errs)
	}
}

func TestTimerErrors(t *testing.T) {
	_, errs := Parse("t.yaml", []byte(`services:
  - name: a
    command: [x]
    timer: daily
  - name: b
    command: [x]
    timer: {calendar: "Funday 10:00"}
  - name: c
    command: [x]
    timer: {}
  - name: d
    command: [x]
    timer: {calendar: daily, every: 1h}
  - name: e
    command: [x]
    timer: {every: 100ms, overlap: stack, jitter: 1s}
  - name: f
    timer: {every: 1h}
  - name: g
    command: [x]
    auto-start: true
    timer: {calendar: "*-02-30"}
  - name: h
    command: [x]
    respawn: true
    timer: {every: 1h}
`), testAccounts)
	errs.Sort()
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`t.yaml:4:12: timer: expected a mapping (calendar: daily, or every: 10m), got "daily"`,
		`t.yaml:7:23: timer calendar: unknown weekday "Funday" (Mon, Tue, ... or Monday, ...)`,
		`t.yaml:10:12: timer: needs calendar (e.g. daily, Mon..Fri 02:30) or every (e.g. 10m)`,
		`t.yaml:13:37: timer: calendar and every cannot be used together; choose one`,
		`t.yaml:16:20: timer every: must be at least 1s, got 100ms`,
		`t.yaml:16:36: timer overlap: expected skip, queue or kill, got "stack"`,
		`t.yaml:16:43: timer: unknown key "jitter" (expected calendar, every, randomized-delay, persistent, overlap)`,
		`t.yaml:17:5: service f: a one-shot service needs a command`,
		`t.yaml:18:12: service f: a timer service needs a command, and no remote nor instances`,
		`t.yaml:21:17: service g: a timer service is started by its timer, not at the daemon's start; remove auto-start (persistent: true runs a missed run at start)`,
		`t.yaml:22:23: timer calendar: "*-02-30" never elapses`,
		`t.yaml:25:5: service h: a one-shot service cannot be respawned`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
