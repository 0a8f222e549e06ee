// Package notifier tells people when something goes wrong: it follows
// the history writer's committed events, turns them into observations
// (alerting.Classify), keeps incidents with the pure alerting.Machine,
// and delivers each alert to its targets (webhook, Slack, a script, an
// email through SMTP), as the daemon's notify: section says.
//
// Nothing is lost: a delivery is stored in the history store (record
// kind notify-outbox) in the same synced batch as the incident it comes
// from and the position in the event stream (notify-cursor), before it
// is tried; it is tried again with backoff until it is delivered or
// older than max-age, and a daemon killed in between (kill -9) tries it
// again when it starts, and reconsiders the events it had not yet
// judged. Every alert carries an idempotency key (in its payload, and
// in an Idempotency-Key header or Message-ID) so that a receiver can
// drop the duplicate a crash between a delivery and its deletion makes.
//
// Deliveries run on at most MaxWorkers goroutines of the daemon, each
// try within its target's timeout; nothing here runs in an actor's
// message loop, and the event stream is never held up by a target.
// Scripts are started by the process monitor, as every process.
package notifier
