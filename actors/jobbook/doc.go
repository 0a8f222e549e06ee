// Package jobbook keeps the tracked jobs of a daemon (herd run, herd
// jobs): it serves the job-start, job-end, jobs and job-show requests,
// keeps each job's summary and its last runs in the history store under
// record kinds of its own, records a history event (kind job) for each
// finished run and each missed period, and watches the jobs that have an
// expectation with one timer, set for the next deadline (no polling).
// What is decided (late or not, names, bounds) is services/jobs'.
package jobbook
