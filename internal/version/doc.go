// Package version says which build of shepherd-go is running: the version
// and commit the Makefile stamps into the binaries with the linker
// (-ldflags "-X ...version.version=V -X ...version.commit=C"), or, for a
// plain `go build` or `go install`, what the Go toolchain recorded in the
// binary (runtime/debug.ReadBuildInfo). It also turns that version into a
// Debian one (Debian), for `make deb`.
//
// It imports nothing heavier than runtime/debug: herd links it, and
// herd's start-up is part of every command's latency.
package version
