// Package completion completes herd's command lines in a shell: `herd
// completion bash|zsh|fish|powershell` prints cobra's script, which asks
// `herd __complete ARGS...` at each TAB. Services (and a service's
// actions) are completed from the daemon, asked with a short timeout;
// with no daemon there is nothing to suggest and nothing is said. Hosts,
// groups and tags come from the inventory. Add gives the commands their
// completion functions; the root command (package cli) calls it.
package completion
