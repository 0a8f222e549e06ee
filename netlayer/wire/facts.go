package wire

import "time"

// Scalar is a value of a fact or a query's cell: a number, a text or
// null (a boolean of a plugin's fact is the text true or false).
type Scalar any

// Fact is one latest value of herd facts (docs/monitors.md). Value is a
// number or a text. Host is empty for the daemon's own host.
type Fact struct {
	Host    string    `json:"host,omitempty"`
	Subject string    `json:"subject"`
	Name    string    `json:"name"`
	Value   Scalar    `json:"value"`
	Unit    string    `json:"unit,omitempty"`
	Time    time.Time `json:"time"`
}

// Facts is the answer to facts [NAME].
type Facts struct {
	Facts []Fact `json:"facts"`
}

// MonitorRun is a monitor's last run (herd monitors).
type MonitorRun struct {
	Name     string        `json:"name"`
	Kind     string        `json:"kind"` // built-in or plugin
	Command  []string      `json:"command,omitempty"`
	Interval time.Duration `json:"interval_ns"`
	Timeout  time.Duration `json:"timeout_ns"`
	Runs     int           `json:"runs"`
	Failures int           `json:"failures"`
	Last     time.Time     `json:"last,omitzero"`
	Took     time.Duration `json:"took_ns"`
	Facts    int           `json:"facts"`
	// Error says why the last run failed (no facts, a timeout, a bad
	// exit).
	Error string `json:"error,omitempty"`
	// Problems are lines of a plugin's output that were not facts.
	Problems []string `json:"problems,omitempty"`
	// Alerts are the thresholds raised now.
	Alerts []string `json:"alerts,omitempty"`
}

// Monitors is the answer to monitors.
type Monitors struct {
	Monitors []MonitorRun `json:"monitors"`
}

// QueryResult is the answer to query SQL: the columns and rows of values
// (numbers, texts or null).
type QueryResult struct {
	Columns []string   `json:"columns"`
	Rows    [][]Scalar `json:"rows"`
}
