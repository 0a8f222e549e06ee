package factsbench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
)

const gib = 1 << 30

// profile is what a simulated host is: its RAM, its nginx, whether its
// worker crashes often.
type profile struct {
	name    string
	mem     float64
	nginx   string
	flaky   bool
	restart bool // a daemon restart in the middle of the month
}

// Profile of host i of n: a third have 2 GiB, the rest 4 to 16; 60%
// run nginx 1.22, 30% 1.24, 10% 1.18; every fifth host's worker
// crashes every few hours; every seventh host's daemon restarts once.
func hostProfile(i int) profile {
	p := profile{name: fmt.Sprintf("h%03d", i+1)}
	p.mem = []float64{2 * gib, 4 * gib, 8 * gib, 16 * gib, 2 * gib, 8 * gib}[i%6]
	switch i % 10 {
	case 0, 1, 2, 3, 4, 5:
		p.nginx = "1.22.1-9"
	case 6, 7, 8:
		p.nginx = "1.24.0-2"
	default:
		p.nginx = "1.18.0-6"
	}
	p.flaky = i%5 == 0
	p.restart = i%7 == 3
	return p
}

// numPackages is the size of each host's package list.
const numPackages = 300

func pkgVersion(host, j int) string {
	v := fmt.Sprintf("%d.%d.%d-%d", 1+j%5, j%13, j%7, 1+j%3)
	if (host*31+j)%97 == 0 { // a few hosts lag behind on a few packages
		v = fmt.Sprintf("%d.%d.%d-%d", 1+j%5, j%13, j%7, 0)
	}
	return v
}

// services the hosts run; backup is a timer service run hourly.
var services = []string{"web", "api", "worker", "db"}

func code(n int) *int { return &n }

// generate writes host i's days of history ending at end into s, an
// hour per batch, and returns the samples and events written.
func generate(s *history.Store, i int, end time.Time, days int) (samples, events int, err error) {
	p := hostProfile(i)
	rng := rand.New(rand.NewPCG(uint64(i), 42))
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	seq := uint64(0)
	var evs []history.Event
	ev := func(e history.Event) {
		seq++
		e.Seq = seq
		evs = append(evs, e)
	}
	pid := 1000
	startSvc := func(t time.Time, svc string) {
		pid++
		ev(history.Event{Time: t, Service: svc, Kind: history.KindState, State: "starting"})
		ev(history.Event{Time: t, Service: svc, Kind: history.KindStart, PID: pid, Command: []string{"/usr/bin/" + svc}})
		ev(history.Event{Time: t, Service: svc, Kind: history.KindState, State: "running"})
	}
	daemonStart := func(t time.Time) {
		ev(history.Event{Time: t, Kind: history.KindDaemonStart})
		ev(history.Event{Time: t, Kind: history.KindLoad, Message: "web api worker db backup"})
		for _, svc := range services {
			startSvc(t, svc)
		}
	}
	daemonStart(start)
	var fs []facts.Fact
	mem := p.mem
	used := 20e9 + float64(i)*1e9
	var nextCrash time.Time
	crashEvery := 5 * 24 * time.Hour
	if p.flaky {
		crashEvery = 7 * time.Hour
	}
	nextCrash = start.Add(time.Duration(rng.Int64N(int64(crashEvery))))
	for h := 0; h < days*24; h++ {
		hour := start.Add(time.Duration(h) * time.Hour)
		fs = fs[:0]
		evs = evs[:0]
		if h%(7*24) == 7*24-1 {
			ev(history.Event{Time: hour, Kind: history.KindDaemonReexec})
		}
		if p.restart && h == days*12 {
			ev(history.Event{Time: hour, Kind: history.KindDaemonStop})
			for _, svc := range services {
				ev(history.Event{Time: hour, Service: svc, Kind: history.KindState, State: "stopping"})
				ev(history.Event{Time: hour, Service: svc, Kind: history.KindExit, Signal: "SIGTERM"})
				ev(history.Event{Time: hour, Service: svc, Kind: history.KindState, State: "stopped"})
			}
			daemonStart(hour.Add(time.Minute))
		}
		// The hourly backup timer.
		t := hour.Add(30 * time.Second)
		startSvc(t, "backup")
		ev(history.Event{Time: t.Add(20 * time.Second), Service: "backup", Kind: history.KindExit, PID: pid, ExitCode: code(0), Runtime: 20 * time.Second})
		ev(history.Event{Time: t.Add(20 * time.Second), Service: "backup", Kind: history.KindState, State: "stopped"})
		for !nextCrash.After(hour.Add(time.Hour)) {
			svc := "worker"
			if !p.flaky {
				svc = services[rng.IntN(len(services))]
			}
			ev(history.Event{Time: nextCrash, Service: svc, Kind: history.KindExit, PID: pid, ExitCode: code(1 + rng.IntN(2)), Runtime: time.Hour})
			ev(history.Event{Time: nextCrash, Service: svc, Kind: history.KindRespawn, Message: "respawn 1 of 5"})
			startSvc(nextCrash.Add(100*time.Millisecond), svc)
			nextCrash = nextCrash.Add(crashEvery/2 + time.Duration(rng.Int64N(int64(crashEvery))))
		}
		for m := range 60 {
			t := hour.Add(time.Duration(m) * time.Minute)
			x := float64(h*60+m) / 60
			load := 0.3 + 0.2*math.Sin(x/24*2*math.Pi) + rng.Float64()*0.3
			avail := mem * (0.35 + 0.1*math.Sin(x/6) + rng.Float64()*0.05)
			used += rng.Float64() * 1e5
			fs = append(fs,
				numFact("host", "load.1", load, "", t),
				numFact("host", "load.5", load*0.9, "", t),
				numFact("host", "load.15", load*0.8, "", t),
				numFact("host", "memory.total", mem, "bytes", t),
				numFact("host", "memory.available", math.Round(avail), "bytes", t),
				numFact("host", "memory.available_pct", math.Round(avail/mem*1000)/10, "%", t),
				numFact("host", "cpu.count", float64(2+i%4*2), "", t),
				numFact("host", "uptime", float64(h*3600+m*60), "s", t),
				numFact("mount:/", "disk.size", 100e9, "bytes", t),
				numFact("mount:/", "disk.used", math.Round(used), "bytes", t),
				numFact("mount:/", "disk.used_pct", math.Round(used/100e9*1000)/10, "%", t),
			)
		}
		fs = append(fs, facts.Fact{Subject: "host", Name: "kernel", Text: "6.1.0-28-amd64", Time: hour},
			facts.Fact{Subject: "host", Name: "os", Text: "Debian GNU/Linux 12 (bookworm)", Time: hour})
		if h%24 == 0 {
			for j := range numPackages {
				v := pkgVersion(i, j)
				if j == 0 {
					v = p.nginx
				}
				fs = append(fs, facts.Fact{Subject: "package:" + pkgName(j), Name: "version", Text: v, Time: hour})
			}
		}
		if err := s.Write(evs, facts.Records(fs), false); err != nil {
			return samples, events, err
		}
		samples += len(fs)
		events += len(evs)
	}
	return samples, events, s.Write(nil, nil, true)
}

func pkgName(j int) string {
	if j == 0 {
		return "nginx"
	}
	return fmt.Sprintf("lib%03d", j)
}

func numFact(subject, name string, v float64, unit string, t time.Time) facts.Fact {
	return facts.Fact{Subject: subject, Name: name, Num: v, IsNum: true, Unit: unit, Time: t}
}
