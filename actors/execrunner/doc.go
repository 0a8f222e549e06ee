// Package execrunner runs one command of the built-in exec target (herd
// fleet exec) through the process monitor, like a controller of a one-off
// service: it asks for the start once, captures the output up to
// MaxOutput, and answers its caller once, whatever happens (a runner that
// fails is stopped, not restarted, and kills its command).
package execrunner
