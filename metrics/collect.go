package metrics

import (
	"context"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shepherd-go/shepherd/internal/tally"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// The series, as docs/metrics.md lists them.
var (
	svc         = []string{"service"}
	descUp      = prometheus.NewDesc("shepherd_service_up", "1 when the service is running (started, and ready if it says when it is), else 0.", svc, nil)
	descState   = prometheus.NewDesc("shepherd_service_state", "1 for the state the service is in, 0 for the others.", []string{"service", "state"}, nil)
	descEnabled = prometheus.NewDesc("shepherd_service_enabled", "1 when the service is enabled, 0 when disabled (by herd disable or its respawn limit).", svc, nil)
	descReady   = prometheus.NewDesc("shepherd_service_ready", "1 when the service is ready (running); method is how it says so: notify, fd, tcp, http, exec, or none (running once started).", []string{"service", "method"}, nil)
	descRestart = prometheus.NewDesc("shepherd_service_restarts_total", "Respawns of the service after an unexpected exit, since the daemon started.", svc, nil)
	descFails   = prometheus.NewDesc("shepherd_service_start_failures_total", "Starts of the service that failed (exec error, exit, not ready in time), since the daemon started.", svc, nil)
	descExit    = prometheus.NewDesc("shepherd_service_last_exit_code", "Exit code of the service's last process to end (0 when a signal killed it); absent until one ends.", svc, nil)
	descSignal  = prometheus.NewDesc("shepherd_service_last_exit_signal", "Number of the signal that killed the service's last process to end (0 when it exited); absent until one ends.", svc, nil)
	descExitAt  = prometheus.NewDesc("shepherd_service_last_exit_timestamp_seconds", "When the service's last process ended, in seconds since the epoch.", svc, nil)
	descStartD  = prometheus.NewDesc("shepherd_service_start_duration_seconds", "Time from starting to running (ready) of the service's successful starts since the daemon started.", svc, nil)
	descCPU     = prometheus.NewDesc("shepherd_service_cpu_seconds_total", "CPU time used by the processes of the service's cgroup, those gone included; absent without cgroups.", svc, nil)
	descMem     = prometheus.NewDesc("shepherd_service_memory_bytes", "Memory used by the service's cgroup; absent where no memory controller counts it.", svc, nil)
	descProxyUp = prometheus.NewDesc("shepherd_proxy_reachable", "1 when the daemon that exported a remote service answers, else 0.", svc, nil)
	descRTT     = prometheus.NewDesc("shepherd_proxy_rtt_seconds", "Round trip of the last ping to the daemon that exported a remote service; absent until one is answered.", svc, nil)
	descLag     = prometheus.NewDesc("shepherd_history_writer_lag_seconds", "How long the oldest event not yet in the history store has waited (0: none waits).", nil, nil)
	descPending = prometheus.NewDesc("shepherd_history_pending_events", "Events waiting for the history writer's next commit, or in the one under way.", nil, nil)
	descCommits = prometheus.NewDesc("shepherd_history_commits_total", "Commits of the history writer that reached the store.", nil, nil)
	descBatch   = prometheus.NewDesc("shepherd_history_batch_size", "Events and records in each commit of the history writer (group commit).", nil, nil)
	descCommitD = prometheus.NewDesc("shepherd_history_commit_duration_seconds", "Duration of each commit of the history writer.", nil, nil)
	descDegr    = prometheus.NewDesc("shepherd_history_degraded", "1 while the history store cannot be written (events held in memory).", nil, nil)
	descDropped = prometheus.NewDesc("shepherd_history_dropped_events", "Events dropped since the history store became unwritable.", nil, nil)
	descRuns    = prometheus.NewDesc("shepherd_fleet_runs_total", "Fleet runs (herd fleet exec) recorded since the daemon started.", nil, nil)
	descRunD    = prometheus.NewDesc("shepherd_fleet_run_duration_seconds", "Duration of each fleet run: its slowest host's.", nil, nil)
	descHostRun = prometheus.NewDesc("shepherd_fleet_host_runs_total", "Fleet runs that ran on the host.", []string{"host"}, nil)
	descHostErr = prometheus.NewDesc("shepherd_fleet_host_failures_total", "Fleet runs that failed on the host (an error, or an exit code other than 0).", []string{"host"}, nil)
	descMissed  = prometheus.NewDesc("shepherd_metrics_events_missed_total", "Times the metrics fell behind the history and missed events: service counters may be short.", nil, nil)
	descFailed  = prometheus.NewDesc("shepherd_metrics_gather_failed", "1 for a part of the daemon that did not answer this scrape in time (its series are absent).", []string{"source"}, nil)
)

// states are the values of shepherd_service_state's state label; a
// remote service may also be unreachable.
var states = []string{wire.StateStopped, wire.StateStarting, wire.StateRunning, wire.StateStopping, wire.StateFailed}

// collector turns one scrape's view into series: of the whole daemon,
// or of one service (only).
type collector struct {
	m    *Metrics
	only string
	ctx  context.Context
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descState, descEnabled, descReady, descRestart, descFails, descExit, descSignal,
		descExitAt, descStartD, descCPU, descMem, descProxyUp, descRTT} {
		ch <- d
	}
	if c.only == "" {
		for _, d := range []*prometheus.Desc{descLag, descPending, descCommits, descBatch, descCommitD, descDegr, descDropped,
			descRuns, descRunD, descHostRun, descHostErr, descMissed, descFailed} {
			ch <- d
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func histogram(d *prometheus.Desc, h tally.Histogram, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, h.Cumulative(), labels...)
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	v := c.m.gather(ctx, c.only)
	for _, d := range v.services {
		name := d.Name
		ch <- gauge(descUp, b2f(d.State == wire.StateRunning), name)
		for _, s := range states {
			ch <- gauge(descState, b2f(d.State == s), name, s)
		}
		if d.Remote {
			ch <- gauge(descState, b2f(d.State == wire.StateUnreachable), name, wire.StateUnreachable)
		}
		ch <- gauge(descEnabled, b2f(d.Enabled), name)
		method := d.Ready
		if method == "" {
			method = "none"
		}
		ch <- gauge(descReady, b2f(d.State == wire.StateRunning), name, method)
		if v.tallies != nil && !d.Remote {
			t := v.tallies.Services[name]
			if t == nil {
				t = &ServiceTally{Starts: tally.New(tally.Durations...)}
			}
			ch <- counter(descRestart, float64(t.Restarts), name)
			ch <- counter(descFails, float64(t.StartFailures), name)
			if x := t.LastExit; x != nil {
				ch <- gauge(descExit, float64(x.Code), name)
				ch <- gauge(descSignal, float64(x.Signal), name)
				ch <- gauge(descExitAt, float64(x.At.UnixMilli())/1000, name)
			}
			if t.Starts.Count > 0 {
				ch <- histogram(descStartD, t.Starts, name)
			}
		}
		if u, ok := v.usage[name]; ok {
			if u.CPUKnown {
				ch <- counter(descCPU, u.CPU.Seconds(), name)
			}
			if u.MemoryKnown {
				ch <- gauge(descMem, float64(u.Memory), name)
			}
		}
		if p, ok := v.proxies[name]; ok {
			ch <- gauge(descProxyUp, b2f(p.Reachable), name)
			if p.RTT > 0 {
				ch <- gauge(descRTT, p.RTT.Seconds(), name)
			}
		}
	}
	if c.only != "" {
		return
	}
	if w := v.writer; w != nil {
		ch <- gauge(descLag, w.Lag.Seconds())
		ch <- gauge(descPending, float64(w.Pending+w.InFlight))
		ch <- counter(descCommits, float64(w.Commits))
		ch <- histogram(descBatch, w.Batches)
		ch <- histogram(descCommitD, w.CommitTime)
		ch <- gauge(descDegr, b2f(w.Degraded))
		ch <- gauge(descDropped, float64(w.Dropped))
	}
	if t := v.tallies; t != nil {
		f := t.Fleet
		ch <- counter(descRuns, float64(f.Runs))
		ch <- histogram(descRunD, f.Durations)
		for _, h := range f.hosts() {
			ch <- counter(descHostRun, float64(f.HostRuns[h]), h)
			ch <- counter(descHostErr, float64(f.HostFailures[h]), h)
		}
		ch <- counter(descMissed, float64(t.Missed))
	}
	for _, s := range []string{"registry", "tallies", "history", "proxies"} {
		ch <- gauge(descFailed, b2f(strings.Contains(strings.Join(v.failed, " "), s)), s)
	}
}
