// Package historian is the history writer: the one actor that writes the
// daemon's store (events, grants, fleet runs), in group commits, and that
// keeps supervising when the store cannot be written (degraded mode).
// Followers of new events (herd events --follow, proxies) subscribe here.
package historian
