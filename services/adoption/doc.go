// Package adoption decides, purely, what a daemon does at its start with
// the processes that a previous daemon, which ended without stopping its
// services, left of each: adopt them or stop them (Decide). Finding them
// and stopping them is internal/leftover's.
package adoption
