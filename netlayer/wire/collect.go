package wire

import "time"

// CollectStatus is the answer to collect-status (herd collect): how a
// collector's pulls of each host of its collect: list go
// (docs/query.md, "Collecting a fleet").
type CollectStatus struct {
	// Configured is false when the daemon has no collect: list (it is
	// no collector); Hosts is then empty.
	Configured bool          `json:"configured"`
	Hosts      []CollectHost `json:"hosts"`
}

// CollectHost is one collected host's status. Seq, Head, Events, Facts and
// LastSuccess come from the host's cursor record, written in the batch of
// each page: they survive a restart and count each item once. The rest
// is of this run of the daemon.
type CollectHost struct {
	Host     string        `json:"host"`
	Interval time.Duration `json:"interval_ns"`
	PageSize int           `json:"page_size"`
	// Seq is the cursor: the host's last event sequence stored here.
	Seq uint64 `json:"seq"`
	// Head is the host's last event sequence when it served the last
	// page (0: not known yet, or a host too old to say).
	Head uint64 `json:"head,omitempty"`
	// Behind is Head - Seq, the events the host had that are not here
	// yet, when Head is known.
	Behind *uint64 `json:"behind,omitempty"`
	// Events and Facts count the events and fact samples stored, in all.
	Events uint64 `json:"events"`
	Facts  uint64 `json:"facts"`
	// LastSuccess is when the last page was stored.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// Pulling: a round of pulls is in flight now.
	Pulling bool `json:"pulling,omitempty"`
	// Rounds and Failures count this run's rounds and the failed ones
	// in a row (0 once one succeeds).
	Rounds   int `json:"rounds"`
	Failures int `json:"failures"`
	// LastPull is when the last round began.
	LastPull time.Time `json:"last_pull,omitzero"`
	// Error is why the last round failed (unreachable: ..., pull
	// refused: ..., bad page: ...); empty when it succeeded.
	Error     string    `json:"error,omitempty"`
	ErrorTime time.Time `json:"error_time,omitzero"`
}
