package metrics

import (
	"bytes"
	"math"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/shepherd-go/shepherd/internal/tally"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// family is one metric: its name, type and help, as docs/metrics.md
// lists them.
type family struct{ name, typ, help string }

// The families, in the order a scrape writes them.
var (
	famUp        = family{"shepherd_service_up", "gauge", "1 when the service is running (started, and ready if it says when it is), else 0."}
	famState     = family{"shepherd_service_state", "gauge", "1 for the state the service is in, 0 for the others."}
	famEnabled   = family{"shepherd_service_enabled", "gauge", "1 when the service is enabled, 0 when disabled (by herd disable or its respawn limit)."}
	famReady     = family{"shepherd_service_ready", "gauge", "1 when the service is ready (running); method is how it says so: notify, fd, tcp, http, exec, or none (running once started)."}
	famRestarts  = family{"shepherd_service_restarts_total", "counter", "Respawns of the service after an unexpected exit, since the daemon started."}
	famFailures  = family{"shepherd_service_start_failures_total", "counter", "Starts of the service that failed (exec error, exit, not ready in time), since the daemon started."}
	famExitCode  = family{"shepherd_service_last_exit_code", "gauge", "Exit code of the service's last process to end (0 when a signal killed it); absent until one ends."}
	famExitSig   = family{"shepherd_service_last_exit_signal", "gauge", "Number of the signal that killed the service's last process to end (0 when it exited); absent until one ends."}
	famExitAt    = family{"shepherd_service_last_exit_timestamp_seconds", "gauge", "When the service's last process ended, in seconds since the epoch; absent until one ends."}
	famLastStart = family{"shepherd_service_last_start_duration_seconds", "gauge", "How long the service's last successful start took, from starting to running (ready); absent until one."}
	famStarts    = family{"shepherd_service_start_duration_seconds", "histogram", "Time from starting to running (ready) of the service's successful starts since the daemon started."}
	famCPU       = family{"shepherd_service_cpu_seconds_total", "counter", "CPU time used by the processes of the service's cgroup, those gone included; absent without cgroups."}
	famMem       = family{"shepherd_service_memory_bytes", "gauge", "Memory used by the service's cgroup; absent where no memory controller counts it."}
	famReachable = family{"shepherd_proxy_reachable", "gauge", "1 when the daemon that exported a remote service answers, else 0."}
	famRTT       = family{"shepherd_proxy_rtt_seconds", "gauge", "Round trip of the last ping to the daemon that exported a remote service; absent until one is answered."}
	famLag       = family{"shepherd_history_writer_lag_seconds", "gauge", "How long the oldest event not yet in the history store has waited (0: none waits)."}
	famPending   = family{"shepherd_history_pending_events", "gauge", "Events waiting for the history writer's next commit, or in the one under way."}
	famCommits   = family{"shepherd_history_commits_total", "counter", "Commits of the history writer that reached the store."}
	famBatch     = family{"shepherd_history_batch_size", "histogram", "Events and records in each commit of the history writer (group commit)."}
	famCommitD   = family{"shepherd_history_commit_duration_seconds", "histogram", "Duration of each commit of the history writer."}
	famDegraded  = family{"shepherd_history_degraded", "gauge", "1 while the history store cannot be written (events held in memory)."}
	famDropped   = family{"shepherd_history_dropped_events", "gauge", "Events dropped since the history store became unwritable."}
	famRuns      = family{"shepherd_fleet_runs_total", "counter", "Fleet runs (herd fleet exec) recorded since the daemon started."}
	famRunD      = family{"shepherd_fleet_run_duration_seconds", "histogram", "Duration of each fleet run: its slowest host's."}
	famHostRuns  = family{"shepherd_fleet_host_runs_total", "counter", "Fleet runs that ran on the host."}
	famHostFails = family{"shepherd_fleet_host_failures_total", "counter", "Fleet runs that failed on the host (an error, or an exit code other than 0)."}
	famMissed    = family{"shepherd_metrics_events_missed_total", "counter", "Times the metrics fell behind the history and missed events: service counters may be short."}
	famCgRead    = family{"shepherd_metrics_cgroup_read_seconds", "gauge", "How long the last reading of the services' cgroups took (in the background, every 10 s at most, when scraped)."}
	famFailed    = family{"shepherd_metrics_gather_failed", "gauge", "1 for a part of the daemon that did not answer this scrape in time (its series are absent)."}
)

// states are the values of shepherd_service_state's state label; a
// remote service may also be unreachable.
var states = []string{wire.StateStopped, wire.StateStarting, wire.StateRunning, wire.StateStopping, wire.StateFailed}

// textWriter writes the Prometheus text format (version 0.0.4) into a
// buffer: by hand rather than through client_golang's registry, which
// took 100 ms for the 16,000 series of 1000 services (a const metric,
// a protobuf and a sort for each) where the target is 20 ms.
type textWriter struct {
	b  []byte
	le []byte // scratch
}

func (w *textWriter) header(f family) {
	w.b = append(w.b, "# HELP "...)
	w.b = append(w.b, f.name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, f.help...)
	w.b = append(w.b, "\n# TYPE "...)
	w.b = append(w.b, f.name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, f.typ...)
	w.b = append(w.b, '\n')
}

// sample writes one line: name, label pairs (name, value, ...), value.
func (w *textWriter) sample(name string, v float64, labels ...string) {
	w.b = append(w.b, name...)
	if len(labels) > 0 {
		w.b = append(w.b, '{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = append(w.b, labels[i]...)
			w.b = append(w.b, `="`...)
			w.b = appendEscaped(w.b, labels[i+1])
			w.b = append(w.b, '"')
		}
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ' ')
	w.b = appendFloat(w.b, v)
	w.b = append(w.b, '\n')
}

// histogram writes a histogram's buckets, sum and count.
func (w *textWriter) histogram(name string, h tally.Histogram, labels ...string) {
	var n uint64
	for i, le := range h.Bounds {
		n += h.Counts[i]
		w.bucket(name, labels, appendFloat(w.le[:0], le), n)
	}
	w.bucket(name, labels, append(w.le[:0], "+Inf"...), h.Count)
	w.sample(name+"_sum", h.Sum, labels...)
	w.sample(name+"_count", float64(h.Count), labels...)
}

// bucket writes one line NAME_bucket{LABELS,le="LE"} N.
func (w *textWriter) bucket(name string, labels []string, le []byte, n uint64) {
	w.b = append(w.b, name...)
	w.b = append(w.b, "_bucket{"...)
	for i := 0; i+1 < len(labels); i += 2 {
		w.b = append(w.b, labels[i]...)
		w.b = append(w.b, `="`...)
		w.b = appendEscaped(w.b, labels[i+1])
		w.b = append(w.b, `",`...)
	}
	w.b = append(w.b, `le="`...)
	w.b = append(w.b, le...)
	w.b = append(w.b, `"} `...)
	w.b = strconv.AppendUint(w.b, n, 10)
	w.b = append(w.b, '\n')
	w.le = le
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendEscaped escapes a label value: backslash, double quote, newline.
func appendEscaped(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] != '\\' && s[i] != '"' && s[i] != '\n'
	}
	if plain {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// write writes a scrape's view: the services', and for the whole daemon
// (v.all) the history's, the fleet's and the gathering's own.
func (w *textWriter) write(v view, all bool) {
	svcs := v.services
	each := func(f family, fn func(i int, name string)) {
		w.header(f)
		for i, d := range svcs {
			fn(i, d.Name)
		}
	}
	each(famUp, func(i int, name string) {
		w.sample(famUp.name, b2f(svcs[i].State == wire.StateRunning), "service", name)
	})
	each(famState, func(i int, name string) {
		for _, s := range states {
			w.sample(famState.name, b2f(svcs[i].State == s), "service", name, "state", s)
		}
		if svcs[i].Remote {
			w.sample(famState.name, b2f(svcs[i].State == wire.StateUnreachable), "service", name, "state", wire.StateUnreachable)
		}
	})
	each(famEnabled, func(i int, name string) { w.sample(famEnabled.name, b2f(svcs[i].Enabled), "service", name) })
	each(famReady, func(i int, name string) {
		method := svcs[i].Ready
		if method == "" {
			method = "none"
		}
		w.sample(famReady.name, b2f(svcs[i].State == wire.StateRunning), "service", name, "method", method)
	})
	if t := v.tallies; t != nil {
		// Proxies have no processes of their own: no tallies.
		tallied := func(f family, fn func(name string, s *ServiceTally)) {
			w.header(f)
			for _, d := range svcs {
				if d.Remote {
					continue
				}
				s := t.Services[d.Name]
				if s == nil {
					s = &ServiceTally{}
				}
				fn(d.Name, s)
			}
		}
		tallied(famRestarts, func(name string, s *ServiceTally) { w.sample(famRestarts.name, float64(s.Restarts), "service", name) })
		tallied(famFailures, func(name string, s *ServiceTally) {
			w.sample(famFailures.name, float64(s.StartFailures), "service", name)
		})
		tallied(famExitCode, func(name string, s *ServiceTally) {
			if x := s.LastExit; x != nil {
				w.sample(famExitCode.name, float64(x.Code), "service", name)
			}
		})
		tallied(famExitSig, func(name string, s *ServiceTally) {
			if x := s.LastExit; x != nil {
				w.sample(famExitSig.name, float64(x.Signal), "service", name)
			}
		})
		tallied(famExitAt, func(name string, s *ServiceTally) {
			if x := s.LastExit; x != nil {
				w.sample(famExitAt.name, float64(x.At.UnixMilli())/1000, "service", name)
			}
		})
		tallied(famLastStart, func(name string, s *ServiceTally) {
			if s.LastStart > 0 {
				w.sample(famLastStart.name, s.LastStart.Seconds(), "service", name)
			}
		})
		tallied(famStarts, func(name string, s *ServiceTally) {
			if s.Starts.Bounds == nil {
				s.Starts = tally.New(StartBounds...)
			}
			w.histogram(famStarts.name, s.Starts, "service", name)
		})
	}
	if v.usage != nil {
		each(famCPU, func(i int, name string) {
			if u, ok := v.usage[name]; ok && u.CPUKnown {
				w.sample(famCPU.name, u.CPU.Seconds(), "service", name)
			}
		})
		each(famMem, func(i int, name string) {
			if u, ok := v.usage[name]; ok && u.MemoryKnown {
				w.sample(famMem.name, float64(u.Memory), "service", name)
			}
		})
	}
	if len(v.proxies) > 0 {
		each(famReachable, func(i int, name string) {
			if p, ok := v.proxies[name]; ok {
				w.sample(famReachable.name, b2f(p.Reachable), "service", name)
			}
		})
		each(famRTT, func(i int, name string) {
			if p, ok := v.proxies[name]; ok && p.RTT > 0 {
				w.sample(famRTT.name, p.RTT.Seconds(), "service", name)
			}
		})
	}
	if !all {
		return
	}
	if h := v.writer; h != nil {
		for _, x := range []struct {
			f family
			v float64
		}{{famLag, h.Lag.Seconds()}, {famPending, float64(h.Pending + h.InFlight)}, {famCommits, float64(h.Commits)},
			{famDegraded, b2f(h.Degraded)}, {famDropped, float64(h.Dropped)}} {
			w.header(x.f)
			w.sample(x.f.name, x.v)
		}
		w.header(famBatch)
		w.histogram(famBatch.name, h.Batches)
		w.header(famCommitD)
		w.histogram(famCommitD.name, h.CommitTime)
	}
	if t := v.tallies; t != nil {
		f := t.Fleet
		w.header(famRuns)
		w.sample(famRuns.name, float64(f.Runs))
		w.header(famRunD)
		w.histogram(famRunD.name, f.Durations)
		hosts := f.hosts()
		w.header(famHostRuns)
		for _, h := range hosts {
			w.sample(famHostRuns.name, float64(f.HostRuns[h]), "host", h)
		}
		w.header(famHostFails)
		for _, h := range hosts {
			w.sample(famHostFails.name, float64(f.HostFailures[h]), "host", h)
		}
		w.header(famMissed)
		w.sample(famMissed.name, float64(t.Missed))
	}
	if v.usage != nil {
		w.header(famCgRead)
		w.sample(famCgRead.name, v.usageTook.Seconds())
	}
	w.header(famFailed)
	for _, s := range []string{"registry", "tallies", "history", "proxies"} {
		w.sample(famFailed.name, b2f(strings.Contains(strings.Join(v.failed, " "), s)), "source", s)
	}
}

// runtimeText is the Go runtime's and the process's metrics (client_golang's
// collectors, few enough for its registry), in the text format.
func runtimeText(g prometheus.Gatherer, b []byte) ([]byte, error) {
	mfs, err := g.Gather()
	buf := bytes.NewBuffer(b)
	enc := expfmt.NewEncoder(buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if eerr := enc.Encode(mf); eerr != nil && err == nil {
			err = eerr
		}
	}
	return buf.Bytes(), err
}
