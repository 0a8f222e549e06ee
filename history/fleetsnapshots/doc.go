// Package fleetsnapshots keeps the snapshots of herd fleet snapshot in
// the daemon's history store, numbered like fleet runs: one header
// record per snapshot (kind fleet-snapshot) and one record per host
// (kind fleet-snapshot-host, keyed by snapshot and host), so that no
// request or reply holds more than one host's facts (a frame is 1 MB).
package fleetsnapshots
