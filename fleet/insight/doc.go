// Package insight is the operator side of herd fleet diff PATH, tail and
// snapshot: every host's copy of a file fetched and compared (Compare:
// the majority and a unified diff of each outlier), files followed with
// drops retried (Follow), facts gathered (Facts), through a host's read
// capability or over SSH, with the hooks of package fleet.
package insight
