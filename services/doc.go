// Package services is the pure core of shepherd: the service definition
// (Spec) and the checks across services (Validate: unknown requirements,
// cycles, duplicate names), and the lifecycle state machine (Machine) whose Step takes
// an event and returns the effects for the runtime to perform, among them
// a Record of each event for the history.
//
// Nothing here starts a goroutine, a process or a timer, or reads a clock:
// time comes in with each event. That is what lets the transition table be
// tested exhaustively without a process (testdata/transitions.txt).
// Reading the YAML is package services/config.
package services
