// Package jobs is the pure part of tracked jobs (`herd run`, `herd
// jobs`): what a job's runs and summary are, how a reported run is
// bounded, who owns a job name, and when a job with an expectation
// (`expect: {every: 24h, grace: 1h}`) is late. It decides; actors/jobbook
// keeps the records and runs the timer. No clock is read here: every
// decision takes now.
package jobs
