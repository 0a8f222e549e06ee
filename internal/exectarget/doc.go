// Package exectarget is the built-in exec target of a shepherd (`herd
// fleet exec`): the request's arguments, the check's command line, and
// running an allowed command through the monitor (actors/execrunner) with
// its timeout, its caller's cancellation and its one answer. The daemon
// and the fleet simulator (internal/fleetsim) both serve exec requests
// with it, so that a simulated host runs a command exactly as a real one.
package exectarget
