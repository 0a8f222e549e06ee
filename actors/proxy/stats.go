package proxy

import "time"

// Stats asks a proxy how its exporter answers (for the metrics).
type Stats struct{ Reply chan<- Stat }

// Stat is what a proxy knows of its exporter: whether it is reachable,
// and the round trip of the last ping (0: no ping answered yet; one goes
// every 5 s while the exporter is reachable).
type Stat struct {
	Name      string
	Reachable bool
	RTT       time.Duration
}
