// Package shepherd translates GNU Shepherd configurations (Scheme) into
// services of our configuration, for `herd import shepherd`.
//
// A configuration is a program; the importer does not run it. It reads
// the file with package sexp and recognizes the common subset: service
// definitions as (service '(NAME ALIAS...) #:KEY VALUE ...), the
// deprecated (make <service> #:provides ...), and Guix's
// (shepherd-service (provision ...) ...) records; #:start with
// make-forkexec-constructor and its #:user #:group
// #:supplementary-groups #:directory #:log-file #:pid-file
// #:pid-file-timeout #:environment-variables #:file-creation-mask
// #:resource-limits; #:stop with make-kill-destructor; #:respawn?,
// #:respawn-limit, #:respawn-delay, #:one-shot?, #:documentation; and
// actions whose procedure runs one command (system*, invoke, system,
// command, or kill of the running process). Values may be literals,
// quoted data, (list ...), (string-append ...), (cons ...) and
// constants the file defines.
//
// Which services start with the daemon follows what the file starts
// (start-in-the-background, start-service, start): GNU Shepherd starts
// no registered service by itself. Guix records start unless
// auto-start? is #f.
//
// Any other code is not evaluated: each such form is a warning at its
// line and column, and a service whose command depends on it is
// imported without a process, which the warning says.
package shepherd
