package monitors

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/query"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

var t0 = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

func TestParsers(t *testing.T) {
	fs, err := ParseMeminfo([]byte("MemTotal:        2048000 kB\nMemFree:  1 kB\nMemAvailable:     102400 kB\n"), t0)
	if err != nil || len(fs) != 3 || fs[0].Num != 2048000*1024 || fs[1].Num != 102400*1024 || fs[2].Num != 5 {
		t.Errorf("meminfo: %+v %v", fs, err)
	}
	if _, err := ParseMeminfo([]byte("MemTotal: 1 kB\n"), t0); err == nil {
		t.Error("meminfo without MemAvailable: no error")
	}
	fs, err = ParseLoadavg([]byte("0.50 1.25 2.00 1/100 12345\n"), t0)
	if err != nil || fs[1].Name != "load.5" || fs[1].Num != 1.25 {
		t.Errorf("loadavg: %+v %v", fs, err)
	}
	fs, err = ParseCPUs([]byte("cpu  1 2 3\ncpu0 1 2 3\ncpu1 1 2 3\nintr 5\n"), t0)
	if err != nil || fs[0].Num != 2 {
		t.Errorf("cpus: %+v %v", fs, err)
	}
	fs, err = ParseUptime([]byte("3600.55 100.00\n"), t0)
	if err != nil || fs[0].Num != 3600 {
		t.Errorf("uptime: %+v %v", fs, err)
	}
	if s := ParseOSRelease([]byte("NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")); s != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("os-release: %q", s)
	}
	if m := ParseMounts([]byte("/dev/sda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\n/dev/sda2 /srv\\040data xfs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n")); strings.Join(m, ",") != "/,/srv data" {
		t.Errorf("mounts: %q", m)
	}
	pk := ParsePackages([]byte("nginx\t1.22.1-9\nbad line\nlibc6\t2.36-9\n\t\n"), t0)
	if len(pk) != 2 || pk[0].Subject != "package:nginx" || pk[0].Text != "1.22.1-9" {
		t.Errorf("packages: %+v", pk)
	}
}

func TestThresholds(t *testing.T) {
	th := func(s string) monitorconfig.Threshold {
		x, err := monitorconfig.ParseThreshold(s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	sample := []facts.Fact{
		num("host", "memory.available_pct", 4.5, "%", t0), num("host", "load.1", 3, "", t0),
		num("mount:/", "disk.used_pct", 91, "%", t0), num("mount:/srv", "disk.used_pct", 10, "%", t0),
	}
	for _, tc := range []struct {
		th      string
		v       float64
		crossed bool
	}{
		{"memory.available < 5%", 4.5, true},
		{"disk./ > 90%", 91, true},
		{"disk./srv > 90%", 10, false},
		{"load.1 >= 3", 3, true},
		{"load.1 > 3", 3, false},
	} {
		v, _, ok := Measure(th(tc.th), sample)
		if !ok || v != tc.v || Crossed(th(tc.th), v) != tc.crossed {
			t.Errorf("%s: %v %v crossed=%v", tc.th, v, ok, Crossed(th(tc.th), v))
		}
	}
	if _, _, ok := Measure(th("disk./home > 90%"), sample); ok {
		t.Error("a mount not in the sample was measured")
	}
}

// fakeEnv records what the monitors write; its Run is given per test.
type fakeEnv struct {
	mu     sync.Mutex
	events []history.Event
	recs   []history.Record
}

func (f *fakeEnv) env(t *testing.T, run RunFunc) Env {
	s, err := history.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	proc := t.TempDir()
	os.WriteFile(filepath.Join(proc, "meminfo"), []byte("MemTotal: 1000 kB\nMemAvailable: 40 kB\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return Env{Store: s, Run: run, Life: ctx, ProcRoot: proc, Now: func() time.Time { return t0 },
		Go: func(f func()) { go f() },
		Write: func(evs []history.Event, recs []history.Record) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, evs...)
			f.recs = append(f.recs, recs...)
		}}
}

// A threshold raises one alert when crossed, and clears it once.
func TestAlerts(t *testing.T) {
	var f fakeEnv
	th, _ := monitorconfig.ParseThreshold("memory.available < 5%")
	c := monitorconfig.Monitor{Name: "memory", Interval: time.Minute, Timeout: time.Second, Thresholds: []monitorconfig.Threshold{th}}
	env := f.env(t, nil)
	m := NewWith(env, []monitorconfig.Monitor{c})
	m.Sample(c)
	m.Sample(c)
	if len(f.events) != 1 || f.events[0].Kind != KindAlert || f.events[0].Action != "raise" || f.events[0].Result != "memory.available < 5%" ||
		f.events[0].Message != "host memory.available is 4% (< 5%)" {
		t.Fatalf("alerts: %+v", f.events)
	}
	if r := m.Runs()[0]; r.Runs != 2 || r.Facts != 3 || len(r.Alerts) != 1 {
		t.Errorf("last run: %+v", r)
	}
	os.WriteFile(filepath.Join(env.ProcRoot, "meminfo"), []byte("MemTotal: 1000 kB\nMemAvailable: 500 kB\n"), 0o644)
	m.Sample(c)
	if len(f.events) != 2 || f.events[1].Action != "clear" {
		t.Fatalf("clear: %+v", f.events)
	}
}

// A plugin that hangs holds up only itself: the others sample on.
func TestHangingPluginStallsNoOther(t *testing.T) {
	var f fakeEnv
	run := func(ctx context.Context, argv []string) ([]byte, string, bool, error) {
		if argv[0] == "hang" {
			<-ctx.Done()
			return nil, "killed at its timeout", false, nil
		}
		return []byte(`{"v":1,"subject":"host","name":"x","value":1}` + "\n"), "exit 0", true, nil
	}
	env := f.env(t, run)
	hang := monitorconfig.Monitor{Name: "hang", Command: []string{"hang"}, Interval: time.Hour, Timeout: time.Hour}
	good := monitorconfig.Monitor{Name: "good", Command: []string{"good"}, Interval: time.Second, Timeout: time.Second}
	m := NewWith(env, []monitorconfig.Monitor{hang, good})
	m.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rs := m.Runs()
		if rs[1].Runs >= 2 {
			if rs[0].Runs != 0 {
				t.Errorf("the hanging plugin finished: %+v", rs[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("good did not sample twice: %+v", rs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A collector's query cache is walked in the background: once warm, a
// query needs no walk (an Input whose time is already up succeeds),
// which it does not before.
func TestWarmQueriesWalksTheHistory(t *testing.T) {
	var f fakeEnv
	env := f.env(t, nil)
	var recs []history.Record
	for i := uint64(1); i <= 3000; i++ {
		v, _ := json.Marshal(history.Event{Seq: i, Service: "web", Kind: history.KindExit, Time: t0})
		recs = append(recs, history.Record{Kind: query.KindHostEvent, Key: query.HostEventKey("h1", i), Value: v})
	}
	if err := env.Store.Write(nil, recs, false); err != nil {
		t.Fatal(err)
	}
	m := NewWith(env, nil)
	m.queriesOnce.Do(m.newQueries)
	up, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.queries.Input(up, t0, 0); err == nil {
		t.Fatal("a cold cache answered without walking")
	}
	m.WarmQueries()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		in, err := m.queries.Input(up, t0, 0)
		if err == nil {
			if len(in.Hosts) != 2 { // the local host and h1
				t.Fatalf("warm cache holds %d hosts, want 2", len(in.Hosts))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cache is not warm after 30 s: %v", err)
		}
	}
}
