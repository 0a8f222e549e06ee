package jobs

import "time"

// The requests of tracked jobs on the control protocol: each carries one
// JSON argument (StartReport, EndReport) or the job's name (ActionShow).
const (
	ActionStart = "job-start" // a run began: StartReport -> Started
	ActionEnd   = "job-end"   // a run ended: EndReport -> Run
	ActionList  = "jobs"      // -> List
	ActionShow  = "job-show"  // NAME -> Detail
)

// IsAction says whether a request (naming no service) is one of tracked
// jobs'.
func IsAction(action string) bool {
	return action == ActionStart || action == ActionEnd || action == ActionList || action == ActionShow
}

// StartReport says that a run of Job began.
type StartReport struct {
	Job     string    `json:"job"`
	Command []string  `json:"command,omitempty"`
	Started time.Time `json:"started"`
}

// Started answers a start report with the run's number.
type Started struct {
	Job string `json:"job"`
	Run int    `json:"run"`
}

// EndReport says how a run of Job ended. Run is the number the start
// report was given, 0 when that report did not reach the daemon.
type EndReport struct {
	Job      string        `json:"job"`
	Run      int           `json:"run,omitempty"`
	Command  []string      `json:"command,omitempty"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	ExitCode *int          `json:"exit_code,omitempty"`
	Signal   string        `json:"signal,omitempty"`
	TimedOut bool          `json:"timed_out,omitempty"`
	// Error says why the command could not run at all (exec failed).
	Error  string   `json:"error,omitempty"`
	Output []string `json:"output,omitempty"`
}

// Failed says whether the run failed: it did not exit with 0.
func (r EndReport) Failed() bool {
	return r.Error != "" || r.TimedOut || r.Signal != "" || r.ExitCode == nil || *r.ExitCode != 0
}

// Run is one run of a job (`herd jobs show NAME --json`).
type Run struct {
	ID       int           `json:"id"`
	Job      string        `json:"job"`
	Started  time.Time     `json:"started"`
	Ended    time.Time     `json:"ended,omitzero"`
	Result   string        `json:"result"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	ExitCode *int          `json:"exit_code,omitempty"`
	Signal   string        `json:"signal,omitempty"`
	TimedOut bool          `json:"timed_out,omitempty"`
	Error    string        `json:"error,omitempty"`
	Command  []string      `json:"command"`
	Output   []string      `json:"output"`
	// Reporter is who reported the run (a uid, or a peer through a
	// capability).
	Reporter string `json:"reporter,omitempty"`
}

// Job is one job in `herd jobs --json`.
type Job struct {
	Name     string        `json:"name"`
	State    string        `json:"state"`
	Last     time.Time     `json:"last,omitzero"`
	Result   string        `json:"result,omitempty"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	// NextExpected is the deadline of the next report (with its grace),
	// for a job with an expectation.
	NextExpected time.Time     `json:"next_expected,omitzero"`
	Every        time.Duration `json:"every_ns,omitempty"`
	Grace        time.Duration `json:"grace_ns,omitempty"`
	Runs         int           `json:"runs"`
}

// List is the result of `jobs`.
type List struct {
	Jobs []Job `json:"jobs"`
}

// Detail is the result of `job-show`: the job and its kept runs, oldest
// first.
type Detail struct {
	Job  Job   `json:"job"`
	Runs []Run `json:"runs"`
}
