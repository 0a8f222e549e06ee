// Package capability is the pure core of shepherd's object capabilities
// (design §7): swiss numbers, sturdyrefs, grant records, attenuation and
// the caretaker's check. It stores nothing and talks to nobody; the daemon
// keeps grants in its history store and runs the checks in caretaker
// actors.
//
// A grant lets one holder (a local uid or a libp2p peer) perform some
// actions on one target (a service, or the built-in exec target) until it
// expires or is revoked. A child grant, made by attenuation, can only
// narrow its parent; revoking a grant revokes every descendant, because a
// check walks the chain up to the root.
package capability
