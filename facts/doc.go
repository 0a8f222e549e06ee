// Package facts is the format of what monitors learn about a host: a Fact
// (subject, name, value, unit, time, host), its versioned JSON-lines
// encoding that plugins print (docs/monitors.md, "The fact format"), and
// how facts are kept in the history store: every sample under the record
// kind KindSample, in time order, trimmed by retention, and the latest
// value of each subject and name under KindLatest.
//
// Encode and Decode are pure; bytes from plugins are hostile and bounded
// (MaxLine, MaxFacts, the lengths of each field).
package facts
