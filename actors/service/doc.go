// Package service holds the actors of one service: its controller (which
// feeds events to the pure lifecycle machine of package services and
// carries out the effects it decides), its hooks, readiness probes and
// activation sockets. Its output goes to its logger (package logger); a
// service with instances has a group actor (package group). They need of
// the daemon only what Env gives them.
package service
