package services

import (
	"time"
)

// Readiness is how a service says it is ready to serve (the `ready:` key):
// exactly one of Notify, FD, TCP, HTTP or Exec is set. Until it is ready
// a service is starting; its dependents and `herd start` wait.
type Readiness struct {
	// Notify: the sd_notify protocol; the service sends READY=1 to the
	// datagram socket named by NOTIFY_SOCKET.
	Notify bool `json:",omitempty"`
	// FD: s6's notification-fd: the service writes a newline to this
	// descriptor (3 or more).
	FD int `json:",omitempty"`
	// Probes: a TCP connection to HOST:PORT, an HTTP GET answered with a
	// 2xx status, a command that exits 0 (run as the service's user).
	TCP  string   `json:",omitempty"`
	HTTP string   `json:",omitempty"`
	Exec []string `json:",omitempty"`
	// Interval between two probes (default 100ms) and Timeout of one
	// probe (default 1s).
	Interval time.Duration `json:",omitempty"`
	Timeout  time.Duration `json:",omitempty"`
}

// Kind names the readiness mechanism: notify, fd, tcp, http or exec.
func (r *Readiness) Kind() string {
	switch {
	case r == nil:
		return ""
	case r.Notify:
		return "notify"
	case r.FD > 0:
		return "fd"
	case r.TCP != "":
		return "tcp"
	case r.HTTP != "":
		return "http"
	case len(r.Exec) > 0:
		return "exec"
	}
	return ""
}

// Probe reports whether readiness is found by probing (tcp, http, exec).
func (r *Readiness) Probe() bool {
	return r != nil && (r.TCP != "" || r.HTTP != "" || len(r.Exec) > 0)
}

// Defaults of the readiness keys.
const (
	DefaultProbeInterval = 100 * time.Millisecond
	DefaultProbeTimeout  = time.Second
	// DefaultStartTimeout bounds the wait for readiness, as systemd's
	// DefaultTimeoutStartSec.
	DefaultStartTimeout = 90 * time.Second
)
