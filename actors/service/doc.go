// Package service holds the actors of one service: its controller (which
// feeds events to the pure lifecycle machine of package services and
// carries out the effects it decides), its logger (log file, recent
// lines, followers), its hooks, and the group actor of a service with
// instances. They need of the daemon only what Env gives them.
package service
