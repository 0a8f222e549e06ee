package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
)

// now is the fake clock of every test: the queries' ago() counts from it.
var now = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// seed is a store with events of several hosts: "local" is the daemon's
// own, the others as a collector keeps them.
type seed struct {
	t   *testing.T
	s   *history.Store
	seq map[string]uint64
}

func newSeed(t *testing.T) *seed {
	s, err := history.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &seed{t: t, s: s, seq: map[string]uint64{}}
}

func code(n int) *int { return &n }

// ev appends host's events (Seq assigned in order).
func (sd *seed) ev(host string, evs ...history.Event) {
	sd.t.Helper()
	var recs []history.Record
	var local []history.Event
	for _, e := range evs {
		sd.seq[host]++
		e.Seq = sd.seq[host]
		if host == "local" {
			local = append(local, e)
			continue
		}
		v, _ := json.Marshal(e)
		recs = append(recs, history.Record{Kind: KindHostEvent, Key: HostEventKey(host, e.Seq), Value: v})
	}
	if err := sd.s.Write(local, recs, false); err != nil {
		sd.t.Fatal(err)
	}
}

// crash is a running service's unexpected exit with status 1 and its
// respawn, at t.
func crash(svc string, t time.Time) []history.Event {
	return []history.Event{
		{Time: t, Service: svc, Kind: history.KindExit, PID: 100, ExitCode: code(1)},
		{Time: t, Service: svc, Kind: history.KindState, State: "starting"},
		{Time: t, Service: svc, Kind: history.KindRespawn},
		{Time: t, Service: svc, Kind: history.KindState, State: "running"},
	}
}

func started(t time.Time, svcs ...string) []history.Event {
	evs := []history.Event{{Time: t, Kind: history.KindDaemonStart}}
	for _, s := range svcs {
		evs = append(evs, history.Event{Time: t, Service: s, Kind: history.KindState, State: "starting"},
			history.Event{Time: t, Service: s, Kind: history.KindState, State: "running"})
	}
	return evs
}

func (sd *seed) facts(host string, fs ...facts.Fact) {
	sd.t.Helper()
	for i := range fs {
		if host != "local" {
			fs[i].Host = host
		}
		if fs[i].Time.IsZero() {
			fs[i].Time = now.Add(-time.Minute)
		}
	}
	if err := sd.s.Write(nil, facts.Records(fs), false); err != nil {
		sd.t.Fatal(err)
	}
}

func num(subject, name string, v float64) facts.Fact {
	return facts.Fact{Subject: subject, Name: name, Num: v, IsNum: true}
}

func pkg(name, version string) facts.Fact {
	return facts.Fact{Subject: "package:" + name, Name: "version", Text: version}
}

func (sd *seed) run(q string) (*Result, error) {
	in, err := FromStore(sd.s, "local", now)
	if err != nil {
		sd.t.Fatal(err)
	}
	return Run(context.Background(), in, q, Options{})
}

// rows prints a result as lines of space-separated values.
func (sd *seed) rows(q string) string {
	t := sd.t
	t.Helper()
	r, err := sd.run(q)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, row := range r.Rows {
		for i, v := range row {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprint(&b, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

const gib = 1 << 30

// The seed question and its three companions, on five hosts.
const (
	SeedQuery = `SELECT DISTINCT e.host, e.service
FROM events e
JOIN hosts h ON h.host = e.host
JOIN packages p ON p.host = e.host AND p.name = 'nginx' AND (p.upstream = '1.22' OR p.upstream LIKE '1.22.%')
WHERE e.kind IN ('exit', 'failed-start') AND e.time >= ago('30d')
  AND h.mem_total < 4 * 1024 * 1024 * 1024
ORDER BY e.host, e.service`
	DiskQuery = `SELECT DISTINCT d.host FROM disks d JOIN services s ON s.host = d.host
WHERE d.mount = '/' AND d.used_pct > 90 AND s.state = 'failed' ORDER BY d.host`
	RestartQuery = `SELECT host, service, count(*) AS restarts FROM events
WHERE kind = 'respawn' AND time >= ago('7d')
GROUP BY host, service HAVING count(*) > 5 ORDER BY host, service`
	MajorityQuery = `WITH counts AS (SELECT name, version, count(*) AS n FROM packages GROUP BY name, version),
majority AS (SELECT name, version FROM counts c WHERE n = (SELECT max(n) FROM counts WHERE name = c.name))
SELECT p.host, p.name, p.version FROM packages p
WHERE p.name IN (SELECT name FROM majority) AND p.version NOT IN (SELECT version FROM majority m WHERE m.name = p.name)
ORDER BY p.host, p.name`
)

func fleet(t *testing.T) *seed {
	sd := newSeed(t)
	day := 24 * time.Hour
	// h1: low RAM, nginx 1.22, web crashed 10 days ago, db 40 days ago.
	sd.ev("h1", started(now.Add(-50*day), "web", "db")...)
	sd.ev("h1", crash("db", now.Add(-40*day))...)
	sd.ev("h1", crash("web", now.Add(-10*day))...)
	sd.facts("h1", num("host", "memory.total", 2*gib), pkg("nginx", "1.22.1-9"), pkg("openssl", "3.0.15-1"))
	// h2: low RAM, nginx 1.22, a failed start of api 2 days ago.
	sd.ev("h2", started(now.Add(-50*day), "web")...)
	sd.ev("h2", history.Event{Time: now.Add(-2 * day), Service: "api", Kind: history.KindState, State: "starting"},
		history.Event{Time: now.Add(-2 * day), Service: "api", Kind: history.KindState, State: "failed", Message: "fork/exec /x: no such file"})
	sd.facts("h2", num("host", "memory.total", 1*gib), pkg("nginx", "1.22.1-9"), pkg("openssl", "3.0.15-1"),
		num("mount:/", "disk.used_pct", 95))
	// h3: low RAM, nginx 1.24, crashes: not nginx 1.22.
	sd.ev("h3", started(now.Add(-50*day), "web")...)
	sd.ev("h3", crash("web", now.Add(-3*day))...)
	sd.facts("h3", num("host", "memory.total", 2*gib), pkg("nginx", "1.24.0-2"), pkg("openssl", "3.0.15-1"))
	// h4: much RAM, nginx 1.22, crashes: not low-RAM.
	sd.ev("h4", started(now.Add(-50*day), "web")...)
	sd.ev("h4", crash("web", now.Add(-3*day))...)
	sd.facts("h4", num("host", "memory.total", 16*gib), pkg("nginx", "1.22.1-9"), pkg("openssl", "3.1.0-1"))
	// local: low RAM, nginx 1.22, worker restarted 6 times this week
	// (once 8 days ago), stopped cleanly by a stop request once.
	sd.ev("local", started(now.Add(-20*day), "worker", "web")...)
	sd.ev("local", crash("worker", now.Add(-8*day))...)
	for i := range 6 {
		sd.ev("local", crash("worker", now.Add(-time.Duration(i+1)*day))...)
	}
	sd.ev("local", history.Event{Time: now.Add(-day), Service: "web", Kind: history.KindState, State: "stopping"},
		history.Event{Time: now.Add(-day), Service: "web", Kind: history.KindExit, Signal: "SIGTERM"},
		history.Event{Time: now.Add(-day), Service: "web", Kind: history.KindState, State: "stopped"})
	sd.facts("local", num("host", "memory.total", 3*gib), pkg("nginx", "1.22.1-9"), pkg("openssl", "3.0.15-1"))
	return sd
}

func TestSeedQuestion(t *testing.T) {
	sd := fleet(t)
	got := sd.rows(SeedQuery)
	want := "h1 web\nh2 api\nlocal worker\n"
	if got != want {
		t.Errorf("seed question:\n%s\nwant:\n%s", got, want)
	}
}

func TestCompanionQueries(t *testing.T) {
	sd := fleet(t)
	if got, want := sd.rows(DiskQuery), "h2\n"; got != want {
		t.Errorf("disk / > 90%% with a failed service: %q, want %q", got, want)
	}
	if got, want := sd.rows(RestartQuery), "local worker 6\n"; got != want {
		t.Errorf("more than 5 restarts this week: %q, want %q", got, want)
	}
	if got, want := sd.rows(MajorityQuery), "h3 nginx 1.24.0-2\nh4 openssl 3.1.0-1\n"; got != want {
		t.Errorf("minority versions: %q, want %q", got, want)
	}
}

// An interruption exactly 30 days old is in the last 30 days; one a
// second older is not. The same at the week's edge.
func TestWindowEdges(t *testing.T) {
	sd := newSeed(t)
	sd.ev("local", started(now.Add(-40*24*time.Hour), "a", "b", "c")...)
	sd.ev("local", crash("a", now.Add(-30*24*time.Hour-time.Second))...)
	sd.ev("local", crash("b", now.Add(-30*24*time.Hour))...)
	sd.ev("local", crash("c", now.Add(-7*24*time.Hour))...)
	sd.ev("local", crash("c", now)...)
	q := `SELECT service, count(*) FROM events WHERE kind = 'exit' AND time >= ago('30d') GROUP BY service ORDER BY service`
	if got, want := sd.rows(q), "b 1\nc 2\n"; got != want {
		t.Errorf("30 days: %q, want %q", got, want)
	}
	q = `SELECT service, count(*) FROM events WHERE kind = 'exit' AND time >= ago('1 week') AND time <= now() GROUP BY service`
	if got, want := sd.rows(q), "c 2\n"; got != want {
		t.Errorf("a week: %q, want %q", got, want)
	}
}

// Interruptions are counted once across a daemon restart (whose stop
// exits are no interruption, and whose previous states are forgotten) and
// across a re-exec (whose services ran on: an exit after it counts).
func TestInterruptionsAcrossRestartAndReexec(t *testing.T) {
	day := 24 * time.Hour
	t1 := now.Add(-5 * day)
	evs := started(t1, "web", "batch")
	evs = append(evs, crash("web", t1.Add(time.Hour))...)
	// The daemon stops: its services stop first; no interruption.
	evs = append(evs,
		history.Event{Time: t1.Add(2 * time.Hour), Service: "web", Kind: history.KindState, State: "stopping"},
		history.Event{Time: t1.Add(2 * time.Hour), Service: "web", Kind: history.KindExit, Signal: "SIGTERM"},
		history.Event{Time: t1.Add(2 * time.Hour), Service: "web", Kind: history.KindState, State: "stopped"},
		history.Event{Time: t1.Add(2 * time.Hour), Kind: history.KindDaemonStop})
	// A daemon that crashed left batch "running"; the next daemon's
	// start forgets it: the leftover's exit it reports is not batch's.
	evs = append(evs, started(t1.Add(3*time.Hour), "web")...)
	evs = append(evs, history.Event{Time: t1.Add(3 * time.Hour), Service: "batch", Kind: history.KindExit, ExitCode: code(137)})
	// A re-exec: web runs on through it, and its exit after it counts.
	evs = append(evs, history.Event{Time: t1.Add(4 * time.Hour), Kind: history.KindDaemonReexec})
	evs = append(evs, crash("web", t1.Add(5*time.Hour))...)
	// A service whose process ends with 0 and is not respawned: done,
	// not interrupted.
	evs = append(evs, history.Event{Time: t1.Add(6 * time.Hour), Service: "batch", Kind: history.KindState, State: "starting"},
		history.Event{Time: t1.Add(6 * time.Hour), Service: "batch", Kind: history.KindState, State: "running"},
		history.Event{Time: t1.Add(7 * time.Hour), Service: "batch", Kind: history.KindExit, ExitCode: code(0)},
		history.Event{Time: t1.Add(7 * time.Hour), Service: "batch", Kind: history.KindState, State: "stopped"})
	// Respawned too often: the exit counts, the limit is its own row,
	// and the failed state is no failed start.
	evs = append(evs, history.Event{Time: t1.Add(8 * time.Hour), Service: "web", Kind: history.KindExit, Signal: "SIGSEGV"},
		history.Event{Time: t1.Add(8 * time.Hour), Service: "web", Kind: history.KindState, State: "failed", Message: "respawn limit hit: 5 respawns within 1m0s"},
		history.Event{Time: t1.Add(8 * time.Hour), Service: "web", Kind: history.KindRespawnLimit, Message: "respawn limit hit: 5 respawns within 1m0s"})

	w := NewWalker()
	for _, e := range evs {
		w.Step(e)
	}
	var got []string
	for _, it := range w.Out {
		s := fmt.Sprintf("%s %s +%s", it.Service, it.Kind, it.Time.Sub(t1))
		if it.ExitCode != nil {
			s += fmt.Sprintf(" code=%d", *it.ExitCode)
		}
		if it.Signal != "" {
			s += " " + it.Signal
		}
		got = append(got, s)
	}
	want := []string{
		"web exit +1h0m0s code=1", "web respawn +1h0m0s",
		"web exit +5h0m0s code=1", "web respawn +5h0m0s",
		"web exit +8h0m0s SIGSEGV", "web respawn-limit +8h0m0s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("interruptions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st := w.States()["web"]; st.State != "failed" {
		t.Errorf("web's state: %+v", st)
	}

	// The same through the store and SQL.
	sd := newSeed(t)
	sd.ev("local", evs...)
	q := `SELECT service, kind, count(*) FROM events GROUP BY service, kind ORDER BY service, kind`
	if got, want := sd.rows(q), "web exit 3\nweb respawn 2\nweb respawn-limit 1\n"; got != want {
		t.Errorf("SQL counts: %q, want %q", got, want)
	}
}

func TestOnlySelect(t *testing.T) {
	sd := fleet(t)
	for _, q := range []string{
		"DELETE FROM events",
		"SELECT 1; DELETE FROM events",
		"select 1 ; select 2",
		"ATTACH DATABASE '/tmp/x.db' AS x",
		"PRAGMA query_only = OFF",
		"WITH x AS (SELECT 1) DELETE FROM events",
		"WITH x AS (SELECT 1) INSERT INTO events(host) SELECT * FROM x",
		"SELECT * FROM pragma_table_info('events')",
		"",
		"-- nothing\n",
	} {
		if _, err := sd.run(q); err == nil {
			t.Errorf("%q: allowed", q)
		}
	}
	// Comments and a final semicolon are fine; a ';' in a string is text.
	got := sd.rows("-- hosts\nSELECT count(*) /* all */ FROM hosts WHERE host != 'a;b';")
	if got != "5\n" {
		t.Errorf("count of hosts = %q", got)
	}
}

func TestBounds(t *testing.T) {
	sd := fleet(t)
	in, err := FromStore(sd.s, "local", now)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), in, "SELECT * FROM events", Options{MaxRows: 3})
	if !errors.Is(err, ErrTooManyRows) || !strings.Contains(err.Error(), "more than 3 rows") {
		t.Errorf("row limit: %v", err)
	}
	start := time.Now()
	_, err = Run(context.Background(), in, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c", Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("endless query: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("the time limit of 200ms took %s", el)
	}
	_, err = Run(context.Background(), in, "SELECT * FROM events", Options{MaxInput: 10})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("input limit: %v", err)
	}
	_, err = Run(context.Background(), in, "SELECT ago('soon')", Options{})
	if err == nil || !strings.Contains(err.Error(), "want a number and a unit") {
		t.Errorf("bad ago: %v", err)
	}
}

func TestUpstream(t *testing.T) {
	for v, want := range map[string]string{"1:1.22.1-9+deb12u1": "1.22.1", "1.22.1": "1.22.1", "2.36-9": "2.36", "1:2.3": "2.3", "a:b-c-d": "a:b-c"} {
		if got := Upstream(v); got != want {
			t.Errorf("Upstream(%q) = %q, want %q", v, got, want)
		}
	}
}
