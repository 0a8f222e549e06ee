package metrics

import (
	"maps"
	"slices"
	"time"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/tally"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// ServiceTally is what the history says of one service since the
// daemon started: counters and the last exit.
type ServiceTally struct {
	// Restarts counts respawns after unexpected exits; StartFailures,
	// starts that ended failed (exec error, exit, not ready in time).
	Restarts, StartFailures uint64
	// LastExit is the service's last process exit (nil: none seen).
	LastExit *Exit
	// LastStart is how long its last successful start took, from
	// starting to running (ready); 0: none since the daemon started.
	LastStart time.Duration
	// Starts holds the durations of its successful starts (StartBounds).
	Starts tally.Histogram
	// startedAt: the service is starting since then (zero: it is not);
	// seen: its last event.
	startedAt, seen time.Time
}

// Exit is how a process ended: its exit code, or the signal (its
// number) that killed it.
type Exit struct {
	Code, Signal int
	At           time.Time
}

// FleetTally counts the fleet runs recorded since the daemon started.
type FleetTally struct {
	Runs uint64
	// Durations are the runs' durations: the slowest host's.
	Durations tally.Histogram
	// HostRuns and HostFailures count, per host, its runs and those
	// that failed there (an error, or an exit code other than 0).
	HostRuns, HostFailures map[string]uint64
}

// StartBounds are the buckets of a service's start durations, in
// seconds: few, since every service has its own histogram (1000
// services are 9000 series).
var StartBounds = []float64{.01, .1, .5, 2, 10, 60}

// maxHosts bounds the hosts counted one by one; beyond, they count
// under otherHosts.
const (
	maxHosts   = 4096
	otherHosts = "_other"
)

// Tallies are the counts kept by the tally goroutine: pure, fed one
// history event or fleet run at a time.
type Tallies struct {
	Services map[string]*ServiceTally
	Fleet    FleetTally
	// Missed counts the times events were lost (the follower fell
	// behind the history writer): counters may then be short.
	Missed uint64
}

// NewTallies returns empty tallies.
func NewTallies() *Tallies {
	return &Tallies{Services: map[string]*ServiceTally{}, Fleet: FleetTally{
		Durations: tally.New(tally.Durations...), HostRuns: map[string]uint64{}, HostFailures: map[string]uint64{},
	}}
}

func (t *Tallies) service(name string) *ServiceTally {
	s, ok := t.Services[name]
	if !ok {
		s = &ServiceTally{Starts: tally.New(StartBounds...)}
		t.Services[name] = s
	}
	return s
}

// Apply counts one committed history event.
func (t *Tallies) Apply(e history.Event) {
	if e.Service == "" {
		return
	}
	switch e.Kind {
	case history.KindRespawn, history.KindExit, history.KindState:
	default:
		return
	}
	s := t.service(e.Service)
	s.seen = e.Time
	switch e.Kind {
	case history.KindRespawn:
		s.Restarts++
	case history.KindExit:
		x := &Exit{At: e.Time}
		if e.ExitCode != nil {
			x.Code = *e.ExitCode
		}
		if e.Signal != "" {
			if sig, err := services.ParseSignal(e.Signal); err == nil {
				x.Signal = int(sig)
			}
		}
		s.LastExit = x
	case history.KindState:
		switch e.State {
		case wire.StateStarting:
			if s.startedAt.IsZero() {
				s.startedAt = e.Time
			}
		case wire.StateRunning:
			if !s.startedAt.IsZero() {
				s.LastStart = max(e.Time.Sub(s.startedAt), time.Nanosecond)
				s.Starts.Observe(s.LastStart.Seconds())
			}
			s.startedAt = time.Time{}
		case wire.StateFailed:
			if !s.startedAt.IsZero() {
				s.StartFailures++
			}
			s.startedAt = time.Time{}
		default:
			s.startedAt = time.Time{}
		}
	}
}

// ApplyRun counts one recorded fleet run.
func (t *Tallies) ApplyRun(run wire.FleetRun) {
	f := &t.Fleet
	f.Runs++
	longest := 0.0
	for _, r := range run.Results {
		longest = max(longest, r.Duration)
		host := r.Host
		if _, ok := f.HostRuns[host]; !ok && len(f.HostRuns) >= maxHosts {
			host = otherHosts
		}
		f.HostRuns[host]++
		if r.Err != "" || r.ExitCode != 0 {
			f.HostFailures[host]++
		}
	}
	f.Durations.Observe(longest)
}

// Forget drops the services not in keep whose last event is older than
// before: those unloaded, so that the tallies do not grow without bound
// over loads and unloads.
func (t *Tallies) Forget(keep map[string]bool, before time.Time) {
	maps.DeleteFunc(t.Services, func(name string, s *ServiceTally) bool {
		return !keep[name] && s.seen.Before(before)
	})
}

// Copy returns tallies that share nothing with t, for another goroutine;
// with only set, of that service alone (and no fleet).
func (t *Tallies) Copy(only string) *Tallies {
	out := &Tallies{Services: make(map[string]*ServiceTally, len(t.Services)), Missed: t.Missed}
	for name, s := range t.Services {
		if only != "" && name != only {
			continue
		}
		c := *s
		c.Starts = s.Starts.Clone()
		if s.LastExit != nil {
			x := *s.LastExit
			c.LastExit = &x
		}
		out.Services[name] = &c
	}
	if only == "" {
		out.Fleet = FleetTally{Runs: t.Fleet.Runs, Durations: t.Fleet.Durations.Clone(),
			HostRuns: maps.Clone(t.Fleet.HostRuns), HostFailures: maps.Clone(t.Fleet.HostFailures)}
	}
	return out
}

// hosts returns the fleet's hosts, sorted.
func (f FleetTally) hosts() []string {
	return slices.Sorted(maps.Keys(f.HostRuns))
}
