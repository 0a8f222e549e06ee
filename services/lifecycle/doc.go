// Package lifecycle is the pure lifecycle machine of one service: Step
// takes a Machine and an event (a start asked for, a process exited, a
// timer fired, a readiness notice) and returns the effects for the
// controller to carry out (spawn, signal, arm a timer, kill a cgroup,
// answer a waiter), among them a Record of each event for the history.
//
// Nothing here starts a goroutine, a process or a timer, or reads a clock:
// time comes in with each event. That is what lets the transition tables
// be tested exhaustively without a process (testdata/*.txt). What the
// machine needs of a service's definition (package services) is its
// services.Policy.
package lifecycle
