// Package services is the pure definition of services: the Spec of one
// service (command, user, requirements, respawn, readiness, sockets,
// cgroup limits, actions and hooks) and the checks across services
// (Validate: unknown requirements, cycles, duplicate names), with the
// positioned errors they report. Reading the YAML is package
// services/config; the lifecycle machine that runs a Spec is package
// services/lifecycle.
package services
