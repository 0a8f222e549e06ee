// Package importer is what the importers of other service managers'
// configurations share: the service they produce (Service, whose fields
// are the keys of docs/config.md), the warnings for what they could not
// carry over (each at its source file and line), the checks that make
// the set of services valid together (Finish), and the YAML they write
// (Result.YAML), which the configuration loader reads back (Check).
//
// The importers themselves are its subpackages: shepherd (GNU Shepherd
// and Guix Scheme), supervisord (supervisord.conf) and systemd (unit
// files). Each is pure: it is given the bytes of the files and returns a
// Result; `herd import` reads the files and writes the result.
package importer
