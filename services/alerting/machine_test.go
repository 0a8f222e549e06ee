package alerting

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// step is one input of a table: at At (from t0), an observation (Class
// "ok" or "ok~" for a success, settling or not) or a tick (Tick), and
// the effects expected, rendered by render.
type step struct {
	at      time.Duration
	subject string
	class   string
	tick    bool
	want    string
}

func render(effs []Effect) string {
	var parts []string
	for _, e := range effs {
		switch e := e.(type) {
		case Keep:
			state := "open"
			if !e.Incident.Closed.IsZero() {
				state = "closed"
			}
			parts = append(parts, fmt.Sprintf("keep %s %s x%d", e.Incident.ID, state, e.Incident.Failures))
		case Forget:
			parts = append(parts, "forget "+e.ID)
		case Notify:
			parts = append(parts, fmt.Sprintf("notify %s %s %s", e.Alert.Target, e.Alert.Status, e.Alert.Class))
		}
	}
	return strings.Join(parts, "; ")
}

func run(t *testing.T, p Policy, steps []step) {
	t.Helper()
	m := New(p)
	for i, s := range steps {
		now := t0.Add(s.at)
		var effs []Effect
		if s.tick {
			effs = m.Tick(now)
		} else {
			o := observe(s, i+1)
			effs = m.Step(now, o)
		}
		if got := render(effs); got != s.want {
			t.Errorf("step %d (%+v):\n got %q\nwant %q", i+1, s, got, s.want)
		}
	}
}

var hookAll = Policy{
	Targets:      []Target{{Name: "hook", OnResolve: true}},
	Rules:        []Rule{{To: []string{"hook"}}},
	RecoverAfter: 10 * time.Second,
}

func TestCrashLoopIsOneIncident(t *testing.T) {
	run(t, hookAll, []step{
		{0, "service web", "service-failed", false, "keep 1 open x1; notify hook firing service-failed"},
		{time.Second, "service web", "ok~", false, "keep 1 open x1"},
		{1500 * time.Millisecond, "service web", "ok~", false, ""},
		// A failure ends the settling: kept, so that a restart of the
		// daemon does not close the incident.
		{2 * time.Second, "service web", "service-failed", false, "keep 1 open x2"},
		{3 * time.Second, "service web", "ok~", false, "keep 1 open x2"},
		// The third failure within the window: flapping, a class of its
		// own, but the hook was told of this incident already.
		{4 * time.Second, "service web", "service-failed", false, "keep 1 open x3"},
		{5 * time.Second, "service web", "ok~", false, "keep 1 open x3"},
		{14 * time.Second, "", "", true, ""},
		{15 * time.Second, "", "", true, "keep 1 closed x3; notify hook resolved service-failed"},
		{16 * time.Second, "", "", true, ""},
	})
}

func TestSettleIsInterruptedByAFailure(t *testing.T) {
	run(t, hookAll, []step{
		{0, "service web", "not-ready", false, "keep 1 open x1; notify hook firing not-ready"},
		{time.Second, "service web", "ok~", false, "keep 1 open x1"},
		{5 * time.Second, "service web", "respawn-limit", false, "keep 1 open x2"},
		{12 * time.Second, "", "", true, ""},
		{20 * time.Second, "service web", "ok~", false, "keep 1 open x2"},
		{30 * time.Second, "", "", true, "keep 1 closed x2; notify hook resolved not-ready"},
	})
}

func TestOneShotSuccessCloses(t *testing.T) {
	run(t, hookAll, []step{
		{0, "service once", "=starting", false, ""},
		{time.Second, "service once", "service-failed", false, "keep 2 open x1; notify hook firing service-failed"},
		// Stopped by the user after it failed: not a success.
		{2 * time.Second, "service once", "=stopping", false, ""},
		{3 * time.Second, "service once", "=stopped", false, ""},
		// Started again, and done: a success.
		{4 * time.Second, "service once", "=starting", false, ""},
		{5 * time.Second, "service once", "=stopped", false, "keep 2 closed x1; notify hook resolved service-failed"},
		{6 * time.Second, "service once", "=starting", false, ""},
		{7 * time.Second, "service once", "=stopped", false, ""},
	})
}

func TestJobsCloseAtOnce(t *testing.T) {
	run(t, hookAll, []step{
		{0, "job backup", "ok", false, ""},
		{time.Hour, "job backup", "job-late", false, "keep 2 open x1; notify hook firing job-late"},
		{2 * time.Hour, "job backup", "job-failed", false, "keep 2 open x2"},
		{3 * time.Hour, "job backup", "ok", false, "keep 2 closed x2; notify hook resolved job-late"},
		{4 * time.Hour, "job backup", "ok", false, ""},
	})
}

// A change seen by fleet watch is a point: each one alerts once and its
// incident closes at once, with no resolved message; a success of the
// subject is nothing, and the command's failures are another subject.
func TestChangesArePoints(t *testing.T) {
	run(t, hookAll, []step{
		{0, "watch cat /etc/motd", "fleet-changed", false, "keep 1 open x1; notify hook firing fleet-changed; keep 1 closed x1"},
		{time.Second, "watch cat /etc/motd", "ok", false, ""},
		{2 * time.Second, "fleet cat /etc/motd", "fleet-failed", false, "keep 3 open x1; notify hook firing fleet-failed"},
		{3 * time.Second, "watch cat /etc/motd", "fleet-changed", false, "keep 4 open x1; notify hook firing fleet-changed; keep 4 closed x1"},
		{20 * time.Second, "", "", true, ""},
		{21 * time.Second, "fleet cat /etc/motd", "ok", false, "keep 3 closed x1; notify hook resolved fleet-failed"},
	})
}

func TestCooldownPerTargetAndSubject(t *testing.T) {
	p := Policy{
		Targets: []Target{{Name: "hook", Cooldown: time.Hour, OnResolve: true}, {Name: "mail"}},
		Rules:   []Rule{{To: []string{"hook", "mail"}}},
	}
	run(t, p, []step{
		{0, "job a", "job-failed", false, "keep 1 open x1; notify hook firing job-failed; notify mail firing job-failed"},
		{time.Minute, "job a", "ok", false, "keep 1 closed x1; notify hook resolved job-failed"},
		// Within the hook's cooldown: the mail is told, the hook is not,
		// nor of its end.
		{2 * time.Minute, "job a", "job-failed", false, "keep 3 open x1; notify mail firing job-failed"},
		{3 * time.Minute, "job b", "job-failed", false, "keep 4 open x1; notify hook firing job-failed; notify mail firing job-failed"},
		{4 * time.Minute, "job a", "ok", false, "keep 3 closed x1"},
		{61 * time.Minute, "job a", "job-failed", false, "keep 6 open x1; notify hook firing job-failed; notify mail firing job-failed"},
	})
}

func TestRulesSelectClassesAndSubjects(t *testing.T) {
	p := Policy{
		Targets: []Target{{Name: "pager"}, {Name: "chat"}},
		Rules: []Rule{
			{On: []Class{RespawnLimit, Flapping}, Subjects: []string{"db-*"}, To: []string{"pager"}},
			{On: []Class{JobFailed}, To: []string{"chat"}},
		},
		FlapCount: 2,
	}
	run(t, p, []step{
		{0, "service web", "service-failed", false, "keep 1 open x1"},
		{0, "service db-1", "service-failed", false, "keep 2 open x1"},
		// The second failure in the window: flapping, which the pager wants.
		{time.Second, "service db-1", "service-failed", false, "keep 2 open x2; notify pager firing flapping"},
		{2 * time.Second, "service db-1", "respawn-limit", false, "keep 2 open x3"},
		{3 * time.Second, "job db-1", "job-failed", false, "keep 5 open x1; notify chat firing job-failed"},
		{4 * time.Second, "service db-1", "ok", false, "keep 2 closed x3"},
	})
}

func TestRestoreKeepsOpenIncidentsAndCooldowns(t *testing.T) {
	p := Policy{Targets: []Target{{Name: "hook", Cooldown: time.Hour, OnResolve: true}}, Rules: []Rule{{To: []string{"hook"}}}}
	m := New(p)
	m.Restore([]Incident{
		{ID: "7", Subject: "job a", Class: JobFailed, Classes: []Class{JobFailed}, Failures: 1, Opened: t0, Notified: map[string]time.Time{"hook": t0}},
		{ID: "3", Subject: "job b", Class: JobFailed, Opened: t0.Add(-time.Minute), Closed: t0, Notified: map[string]time.Time{"hook": t0}},
	})
	if got := render(m.Step(t0.Add(time.Minute), Observation{Subject: "job a", Class: JobFailed, Seq: 9})); got != "" {
		t.Errorf("a failure of an open incident: %q", got)
	}
	if got := render(m.Step(t0.Add(2*time.Minute), Observation{Subject: "job b", Class: JobFailed, Seq: 10})); got != "keep 10 open x1" {
		t.Errorf("within the cooldown kept in the store: %q", got)
	}
	if got := render(m.Step(t0.Add(3*time.Minute), Observation{Subject: "job a", Seq: 11})); got != "keep 7 closed x2; notify hook resolved job-failed" {
		t.Errorf("close of a restored incident: %q", got)
	}
	if n := len(m.Open()); n != 1 {
		t.Errorf("open: %d", n)
	}
}

func TestRecentIsBounded(t *testing.T) {
	m := New(hookAll)
	var last []Effect
	for i := range MaxRecent + 1 {
		m.Step(t0, Observation{Subject: "job a", Class: JobFailed, Seq: uint64(i + 1)})
		last = m.Step(t0, Observation{Subject: "job a"})
	}
	if got := render(last); !strings.Contains(got, "; forget 1;") || len(m.Recent()) != MaxRecent {
		t.Errorf("%q, %d recent", got, len(m.Recent()))
	}
	var old []Incident
	for i := range MaxRecent + 2 {
		old = append(old, Incident{ID: fmt.Sprint(i), Subject: "job a", Opened: t0.Add(time.Duration(i)), Closed: t0.Add(time.Hour)})
	}
	if got := render(New(hookAll).Restore(old)); got != "forget 0; forget 1" {
		t.Errorf("restore: %q", got)
	}
}

func TestClassify(t *testing.T) {
	one := 1
	cases := []struct {
		ev   Event
		want string
	}{
		{Event{Kind: "state", Service: "web", State: "failed", Message: "exit status 1"}, "service web service-failed"},
		{Event{Kind: "state", Service: "web", State: "failed", Message: "not ready after 1s"}, "service web not-ready"},
		{Event{Kind: "state", Service: "web", State: "failed", Message: "respawn limit hit: 3"}, "-"},
		{Event{Kind: "respawn", Service: "web"}, "service web service-failed"},
		{Event{Kind: "respawn-limit", Service: "web"}, "service web respawn-limit"},
		{Event{Kind: "state", Service: "web", State: "running"}, "service web ok~"},
		{Event{Kind: "state", Service: "web", State: "starting"}, "service web =starting"},
		{Event{Kind: "state", Service: "web", State: "stopped"}, "service web =stopped"},
		{Event{Kind: "proxy", Service: "db-a", State: "unreachable"}, "proxy db-a proxy-unreachable"},
		{Event{Kind: "proxy", Service: "db-a", State: "stopped"}, "proxy db-a ok~"},
		{Event{Kind: "proxy", State: "unreachable"}, "-"},
		{Event{Kind: "exit", Service: "web", ExitCode: &one}, "-"},
		{Event{Kind: "job", Job: "backup", Result: "failed"}, "job backup job-failed"},
		{Event{Kind: "job", Service: "backup", Result: "late"}, "job backup job-late"},
		{Event{Kind: "job", Job: "backup", Result: "ok"}, "job backup ok"},
		{Event{Kind: "job", Job: "backup", Outcome: "failed"}, "job backup job-failed"},
		{Event{Kind: "job", Job: "backup", Result: "running"}, "-"},
		{Event{Kind: "fleet-run", Command: []string{"systemctl", "is-active", "nginx"}, Result: "failed"}, "fleet systemctl is-active nginx fleet-failed"},
		{Event{Kind: "fleet-run", Command: []string{"systemctl", "is-active", "nginx"}, Result: "ok"}, "fleet systemctl is-active nginx ok"},
		{Event{Kind: "fleet-run", Result: "failed"}, "fleet run fleet-failed"},
		{Event{Kind: "fleet-run", Command: []string{"cat", "/etc/motd"}, Result: "changed"}, "watch cat /etc/motd fleet-changed"},
		{Event{Kind: "alert", Action: "raise", Result: "disk./ > 90%"}, "threshold disk./ > 90% threshold"},
		{Event{Kind: "alert", Action: "clear", Result: "disk./ > 90%"}, "threshold disk./ > 90% ok"},
		{Event{Kind: "alert", Action: "raise"}, "-"},
		{Event{Kind: "daemon-start"}, "-"},
	}
	for _, c := range cases {
		o, ok := Classify(c.ev)
		got := "-"
		if ok {
			cl := string(o.Class)
			switch {
			case cl != "":
			case o.Settle:
				cl = "ok~"
			case o.State != "":
				cl = "=" + o.State
			default:
				cl = "ok"
			}
			got = o.Subject + " " + cl
		}
		if got != c.want {
			t.Errorf("%+v: got %q, want %q", c.ev, got, c.want)
		}
	}
}

func TestClean(t *testing.T) {
	if got := Clean("a\x1b[31mb\r\nc\xff", 100); got != "a [31mb \nc\uFFFD" {
		t.Errorf("%q", got)
	}
	if got := Clean(strings.Repeat("é", 10), 9); got != "ééé..." {
		t.Errorf("%q", got)
	}
}
