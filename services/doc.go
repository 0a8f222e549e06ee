// Package services is the pure core of shepherd: the service definition
// (Spec), the YAML loader and validator that report every error at
// FILE:LINE:COL, and the lifecycle state machine (Machine) whose Step takes
// an event and returns the effects for the runtime to perform, among them
// a Record of each event for the history.
//
// Nothing here starts a goroutine, a process or a timer, or reads a clock:
// time comes in with each event. That is what lets the transition table be
// tested exhaustively without a process (testdata/transitions.txt).
package services
