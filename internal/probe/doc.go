// Package probe is the mechanics of readiness other than sd_notify's
// (internal/notify), without actors: asking from the outside whether a
// service is ready (a TCP connection that is accepted, an HTTP GET
// answered with a 2xx status), s6's notification fd, and the outcome of
// a command probe (the process itself is the monitor's to run, as the
// service's user). Each probe is bounded by its context; what a server
// answers or a service writes is read within bounds.
package probe
