// Package caretaker is the actor that holds every capability grant and
// checks every request of a caller without the daemon's own authority
// (capability.Check over the grant and its ancestors), manages grants
// (cap grant, attenuate, revoke, list) and keeps the audit trail, its
// refusals counted rather than each recorded.
package caretaker
