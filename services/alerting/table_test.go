package alerting

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// tablePolicy: the hook hears of everything (cooldown 1m, resolved
// messages), the pager of respawn limits and flapping only.
var tablePolicy = Policy{
	Targets: []Target{{Name: "hook", Cooldown: time.Minute, OnResolve: true}, {Name: "pager"}},
	Rules: []Rule{
		{To: []string{"hook"}},
		{On: []Class{RespawnLimit, Flapping}, To: []string{"pager"}},
	},
	RecoverAfter: 10 * time.Second,
}

// situations are what a subject went through before the probe, as
// steps of the form of the other tables (want ignored).
var situations = []struct {
	name  string
	steps []step
}{
	{"no incident", nil},
	{"open", []step{{0, "service web", "service-failed", false, ""}}},
	{"open, running again (settling)", []step{{0, "service web", "service-failed", false, ""}, {time.Second, "service web", "ok~", false, ""}}},
	{"open, starting again", []step{{0, "service web", "service-failed", false, ""}, {time.Second, "service web", "=starting", false, ""}}},
	{"open, two failures (flapping at the third)", []step{{0, "service web", "service-failed", false, ""}, {time.Second, "service web", "service-failed", false, ""}}},
	{"open, the hook held back (closed within its cooldown, failed again)", []step{
		{0, "service web", "service-failed", false, ""}, {time.Second, "service web", "ok", false, ""},
		{2 * time.Second, "service web", "service-failed", false, ""}}},
	{"closed a moment ago", []step{{0, "service web", "service-failed", false, ""}, {time.Second, "service web", "ok", false, ""}}},
}

// probes happen 5s after the situation's last step; tick+20s is a tick
// 20s after it (past recover-after).
var probes = []struct {
	name  string
	after time.Duration
	class string
	tick  bool
}{
	{"service-failed", 5 * time.Second, "service-failed", false},
	{"not-ready", 5 * time.Second, "not-ready", false},
	{"respawn-limit", 5 * time.Second, "respawn-limit", false},
	{"job-failed", 5 * time.Second, "job-failed", false},
	{"ok", 5 * time.Second, "ok", false},
	{"ok~ (running)", 5 * time.Second, "ok~", false},
	{"=starting", 5 * time.Second, "=starting", false},
	{"=stopped", 5 * time.Second, "=stopped", false},
	{"tick+5s", 5 * time.Second, "", true},
	{"tick+20s", 20 * time.Second, "", true},
	{"ok at +2m", 2 * time.Minute, "ok", false},
	{"failure at +2m", 2 * time.Minute, "service-failed", false},
}

func observe(s step, seq int) Observation {
	o := Observation{Subject: s.subject, Seq: uint64(seq), Message: "m"}
	switch {
	case strings.HasPrefix(s.class, "="):
		o.State = s.class[1:]
	case s.class == "ok":
	case s.class == "ok~":
		o.Settle, o.State = true, "running"
	default:
		o.Class = Class(s.class)
	}
	return o
}

// TestIncidentTable is every probe in every situation, as
// services/lifecycle's transition tables: run with -update to rewrite
// testdata/incidents.txt, then review the diff.
func TestIncidentTable(t *testing.T) {
	var b strings.Builder
	for _, s := range situations {
		fmt.Fprintf(&b, "# %s\n", s.name)
		for _, p := range probes {
			m := New(tablePolicy)
			var last time.Duration
			for i, st := range s.steps {
				m.Step(t0.Add(st.at), observe(st, i+1))
				last = st.at
			}
			now := t0.Add(last + p.after)
			var effs []Effect
			if p.tick {
				effs = m.Tick(now)
			} else {
				effs = m.Step(now, observe(step{subject: "service web", class: p.class}, 100))
			}
			got := render(effs)
			if got == "" {
				got = "-"
			}
			fmt.Fprintf(&b, "%-16s -> %s\n", p.name, got)
		}
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "incidents.txt")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestIncidentTable -update ./services/alerting)", err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("incident table changed; run with -update and review the diff.\ngot:\n%s", got)
	}
}
