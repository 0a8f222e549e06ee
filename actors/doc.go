// Package actors is the daemon's runtime: protoactor-go actors that own
// state and execute the effects decided by package services.
//
// The tree: shepherd (the coordinator) supervises the process monitor and
// the registry; the registry supervises one controller and one logger per
// service. The monitor alone starts processes, and the reaper goroutine
// (the only caller of wait4) feeds it every exit, which it routes to the
// owning controller. Each actor keeps its state in a struct its producer
// captures, so a restart after a panic resumes with the same state and the
// same running processes.
package actors
