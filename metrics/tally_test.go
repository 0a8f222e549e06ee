package metrics

import (
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func code(c int) *int { return &c }

// TestTallies: what the history's events make of a service's counters.
func TestTallies(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	state := func(ms int, s string) history.Event {
		return history.Event{Time: at(ms), Service: "web", Kind: history.KindState, State: s}
	}
	for _, tc := range []struct {
		name   string
		events []history.Event
		want   ServiceTally
		starts uint64
	}{
		{"a start that becomes ready", []history.Event{state(0, "starting"), state(30, "running")},
			ServiceTally{LastStart: 30 * time.Millisecond}, 1},
		{"kill -9 and a respawn", []history.Event{
			state(0, "starting"), state(10, "running"),
			{Time: at(500), Service: "web", Kind: history.KindExit, Signal: "SIGKILL"},
			{Time: at(500), Service: "web", Kind: history.KindRespawn},
			state(600, "starting"), state(650, "running"),
		}, ServiceTally{Restarts: 1, LastStart: 50 * time.Millisecond, LastExit: &Exit{Signal: 9, At: at(500)}}, 2},
		{"a start that fails", []history.Event{
			state(0, "starting"),
			{Time: at(5), Service: "web", Kind: history.KindExit, ExitCode: code(3)},
			state(5, "failed"),
		}, ServiceTally{StartFailures: 1, LastExit: &Exit{Code: 3, At: at(5)}}, 0},
		{"a running service that fails is no failed start", []history.Event{
			state(0, "starting"), state(1, "running"), state(9, "failed"),
		}, ServiceTally{LastStart: time.Millisecond}, 1},
		{"a start stopped before it is ready", []history.Event{
			state(0, "starting"), state(3, "stopping"), state(4, "stopped"), state(10, "running"),
		}, ServiceTally{}, 0},
		{"other kinds and the daemon's events count for nothing", []history.Event{
			{Time: at(0), Kind: history.KindDaemonStart},
			{Time: at(1), Service: "web", Kind: history.KindAction, Action: "start"},
		}, ServiceTally{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := NewTallies()
			for _, e := range tc.events {
				tl.Apply(e)
			}
			got := tl.Services["web"]
			if got == nil {
				got = &ServiceTally{}
			}
			if got.Restarts != tc.want.Restarts || got.StartFailures != tc.want.StartFailures || got.LastStart != tc.want.LastStart ||
				(got.LastExit == nil) != (tc.want.LastExit == nil) || got.LastExit != nil && *got.LastExit != *tc.want.LastExit {
				t.Errorf("got %+v (exit %+v), want %+v (exit %+v)", *got, got.LastExit, tc.want, tc.want.LastExit)
			}
			if got.Starts.Count != tc.starts {
				t.Errorf("%d starts in the histogram, want %d", got.Starts.Count, tc.starts)
			}
		})
	}
}

// TestFleetTally: a run's duration is its slowest host's; a host fails
// on an error or an exit code other than 0; hosts beyond maxHosts count
// together.
func TestFleetTally(t *testing.T) {
	tl := NewTallies()
	tl.ApplyRun(wire.FleetRun{Results: []wire.FleetHostResult{{Host: "a", Duration: 0.2}, {Host: "b", ExitCode: 1, Duration: 0.7}}})
	tl.ApplyRun(wire.FleetRun{Results: []wire.FleetHostResult{{Host: "a", Err: "unreachable", Duration: 10}}})
	f := tl.Fleet
	if f.Runs != 2 || f.HostRuns["a"] != 2 || f.HostRuns["b"] != 1 || f.HostFailures["a"] != 1 || f.HostFailures["b"] != 1 {
		t.Fatalf("fleet tally: %+v", f)
	}
	if f.Durations.Sum != 10.7 || f.Durations.Count != 2 {
		t.Fatalf("durations: %+v", f.Durations)
	}
	for i := range maxHosts {
		tl.ApplyRun(wire.FleetRun{Results: []wire.FleetHostResult{{Host: "h" + string(rune('A'+i%26)) + time.Duration(i).String()}}})
	}
	if len(tl.Fleet.HostRuns) != maxHosts+1 || tl.Fleet.HostRuns[otherHosts] == 0 {
		t.Fatalf("%d hosts counted one by one, %d under %s", len(tl.Fleet.HostRuns), tl.Fleet.HostRuns[otherHosts], otherHosts)
	}
}

// TestForgetAndCopy: unloaded services are forgotten once quiet; a copy
// shares nothing, and a copy for one service holds that one only.
func TestForgetAndCopy(t *testing.T) {
	tl := NewTallies()
	now := time.Now()
	tl.Apply(history.Event{Time: now.Add(-time.Hour), Service: "gone", Kind: history.KindRespawn})
	tl.Apply(history.Event{Time: now, Service: "new", Kind: history.KindRespawn})
	tl.Apply(history.Event{Time: now.Add(-time.Hour), Service: "kept", Kind: history.KindExit, ExitCode: code(1)})
	tl.Forget(map[string]bool{"kept": true}, now.Add(-time.Minute))
	if _, ok := tl.Services["gone"]; ok || tl.Services["new"] == nil || tl.Services["kept"] == nil {
		t.Fatalf("after Forget: %v", tl.Services)
	}
	one := tl.Copy("kept")
	if len(one.Services) != 1 || one.Fleet.HostRuns != nil {
		t.Fatalf("copy of kept: %+v", one)
	}
	one.Services["kept"].LastExit.Code = 99
	if tl.Services["kept"].LastExit.Code != 1 {
		t.Fatal("the copy shares the last exit")
	}
}

// TestTextFormat: label values are escaped; integers print as such.
func TestTextFormat(t *testing.T) {
	var w textWriter
	w.sample("x_total", 3, "host", "a\"b\\c\nd")
	w.sample("y", 0.25)
	if got, want := string(w.b), "x_total{host=\"a\\\"b\\\\c\\nd\"} 3\ny 0.25\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestListenAddr: a bare port or ":PORT" is loopback; a host is kept.
func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		"9100": "127.0.0.1:9100", ":9100": "127.0.0.1:9100", "0.0.0.0:9100": "0.0.0.0:9100",
		"localhost:9100": "localhost:9100", "[::1]:9100": "[::1]:9100", "127.0.0.1:0": "127.0.0.1:0",
	} {
		if got := ListenAddr(in); got != want {
			t.Errorf("ListenAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
