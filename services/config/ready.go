package config

import (
	"net"
	"net/url"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/yamlnode"

	"go.yaml.in/yaml/v3"
)

// readyKeys collects the readiness keys of one service (ready,
// min-uptime, start-timeout, watchdog), so that check can judge them
// together once the whole service is read.
type readyKeys struct {
	ready, minUptime, startTimeout, watchdog *yaml.Node
}

// maxNotifyFD bounds `ready: {fd: N}`: a descriptor number beyond the
// usual limits of open files is a mistake.
const maxNotifyFD = 1023

// parse reads one readiness key into s.
func (r *readyKeys) parse(p parser, s *services.Spec, key string, v *yaml.Node) {
	switch key {
	case "ready":
		r.ready = v
		s.Ready = p.readiness(v)
	case "min-uptime":
		r.minUptime = v
		if s.MinUptime = p.Duration(key, v); s.MinUptime == 0 && v.Kind == yaml.ScalarNode {
			r.minUptime = nil // 0: none
		}
	case "start-timeout":
		r.startTimeout = v
		if s.StartTimeout = p.Duration(key, v); s.StartTimeout == 0 && v.Kind == yaml.ScalarNode {
			p.Errorf(v, "start-timeout: must be more than 0 (without it: %v)", services.DefaultStartTimeout)
			r.startTimeout = nil
		}
	case "watchdog":
		r.watchdog = v
		if s.Watchdog = p.Duration(key, v); s.Watchdog == 0 && v.Kind == yaml.ScalarNode {
			r.watchdog = nil // 0: none
		}
	}
}

// readiness reads `ready: notify` or `ready: {fd: N}`, `{tcp: HOST:PORT}`,
// `{http: URL}`, `{exec: COMMAND}`, the probes with interval and timeout.
func (p parser) readiness(v *yaml.Node) *services.Readiness {
	const want = "notify, {fd: N}, {tcp: HOST:PORT}, {http: URL} or {exec: COMMAND}"
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		if v.Value != "notify" {
			p.Errorf(v, "ready: expected %s, got %q", want, v.Value)
			return nil
		}
		return &services.Readiness{Notify: true}
	}
	if v.Kind != yaml.MappingNode {
		p.Errorf(v, "ready: expected %s, got %s", want, yamlnode.KindName(v))
		return nil
	}
	r := &services.Readiness{}
	var kinds []string
	var timing *yaml.Node
	unknown := false
	p.EachKey(v, func(key string, k, val *yaml.Node) {
		switch key {
		case "fd":
			kinds = append(kinds, key)
			r.FD = p.Integer("ready fd", val)
			if r.FD < 3 || r.FD > maxNotifyFD {
				p.Errorf(val, "ready fd: %d is not a descriptor 3..%d (0, 1 and 2 are stdin, stdout and stderr)", r.FD, maxNotifyFD)
				r.FD = 3
			}
		case "tcp":
			kinds = append(kinds, key)
			r.TCP = p.Str("ready tcp", val)
			// An instance's number makes the address ({instance}).
			host, port, err := net.SplitHostPort(services.ExpandInstance(r.TCP, 1))
			n, perr := strconv.Atoi(port)
			if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
				p.Errorf(val, "ready tcp: %q is not HOST:PORT (such as 127.0.0.1:6379)", r.TCP)
			}
		case "http":
			kinds = append(kinds, key)
			r.HTTP = p.Str("ready http", val)
			u, err := url.Parse(services.ExpandInstance(r.HTTP, 1))
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.Errorf(val, "ready http: %q is not an http:// or https:// URL", r.HTTP)
			}
		case "exec":
			kinds = append(kinds, key)
			if r.Exec = p.Command("ready exec", val); len(r.Exec) == 0 {
				p.Errorf(val, "ready exec: needs a command")
			}
		case "interval":
			timing = k
			if r.Interval = p.Duration("ready interval", val); r.Interval == 0 && val.Kind == yaml.ScalarNode {
				p.Errorf(val, "ready interval: must be more than 0")
			}
		case "timeout":
			timing = k
			if r.Timeout = p.Duration("ready timeout", val); r.Timeout == 0 && val.Kind == yaml.ScalarNode {
				p.Errorf(val, "ready timeout: must be more than 0")
			}
		case "notify":
			unknown = true
			p.Errorf(k, "ready: notify takes no mapping: write ready: notify")
		default:
			unknown = true
			p.Errorf(k, "ready: unknown key %q (expected one of fd, tcp, http, exec, and interval and timeout for a probe)", key)
		}
	})
	switch {
	case len(kinds) == 0:
		if !unknown {
			p.Errorf(v, "ready: expected %s", want)
		}
		return nil
	case len(kinds) > 1:
		p.Errorf(v, "ready: %s and %s: expected only one way to tell readiness", kinds[0], kinds[1])
	}
	if r.Probe() {
		if r.Interval == 0 {
			r.Interval = services.DefaultProbeInterval
		}
		if r.Timeout == 0 {
			r.Timeout = services.DefaultProbeTimeout
		}
	} else if timing != nil {
		p.Errorf(timing, "ready: interval and timeout are for probes (tcp, http, exec), not for %s", kinds[0])
	}
	return r
}

// check judges the readiness keys together, and with the rest of s;
// n is the service's node. It fills in the default start-timeout.
func (r *readyKeys) check(p parser, s *services.Spec, n *yaml.Node) {
	at := func(k *yaml.Node) *yaml.Node {
		if k != nil {
			return k
		}
		return n
	}
	if r.ready == nil && r.minUptime == nil && r.startTimeout == nil && r.watchdog == nil {
		return
	}
	first := r.ready
	for _, k := range []*yaml.Node{r.minUptime, r.startTimeout, r.watchdog} {
		if first == nil {
			first = k
		}
	}
	switch {
	case len(s.Command) == 0:
		p.Errorf(at(first), "service %s: ready, min-uptime, start-timeout and watchdog need a command", s.Name)
		return
	case s.OneShot:
		p.Errorf(at(first), "service %s: a one-shot service is done when its process exits: ready, min-uptime, start-timeout and watchdog do not apply", s.Name)
		return
	}
	if s.Activation.Style == services.ActivationInetd {
		p.Errorf(at(first), "service %s: an inetd-style service runs a process per connection, with no main process to be ready: ready, min-uptime, start-timeout and watchdog do not apply", s.Name)
		return
	}
	if s.Ready != nil && s.Ready.FD > 0 && s.Activation.Style == services.ActivationSystemd && s.Ready.FD <= 2+len(s.Listen) {
		p.Errorf(r.ready, "service %s: ready fd %d is one of the sockets of listen (fds 3 to %d): use %d or more", s.Name, s.Ready.FD, 2+len(s.Listen), 3+len(s.Listen))
	}
	if r.startTimeout != nil && s.Ready == nil {
		p.Errorf(r.startTimeout, "service %s: start-timeout bounds the wait for readiness: it needs a ready key (min-uptime alone is its own bound)", s.Name)
	}
	if r.watchdog != nil && (s.Ready == nil || !s.Ready.Notify) {
		p.Errorf(r.watchdog, "service %s: watchdog needs ready: notify (the process pings with sd_notify's WATCHDOG=1)", s.Name)
	}
	if s.Ready != nil && s.Ready.Notify && s.PIDFile != "" {
		p.Errorf(r.ready, "service %s: ready: notify and pid-file do not go together: a notify service names a new main process with MAINPID= instead", s.Name)
	}
	if s.Ready != nil && s.StartTimeout == 0 {
		s.StartTimeout = services.DefaultStartTimeout
	}
	if s.Ready != nil && s.MinUptime > 0 && s.MinUptime >= s.StartTimeout {
		p.Errorf(at(r.minUptime), "service %s: min-uptime %v is not shorter than start-timeout %v: every start would fail", s.Name, s.MinUptime, s.StartTimeout)
	}
	if s.Watchdog > 0 && s.Watchdog < 10*time.Millisecond {
		p.Errorf(r.watchdog, "service %s: watchdog %v is too short (at least 10ms)", s.Name, s.Watchdog)
	}
}
