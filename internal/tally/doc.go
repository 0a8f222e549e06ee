// Package tally holds the small, pure counters that actors keep of their
// own work for the metrics (package metrics): a histogram with fixed
// buckets that an actor observes into and copies out when asked. It has
// no locks and starts no goroutine: one owner observes, a copy leaves.
package tally
