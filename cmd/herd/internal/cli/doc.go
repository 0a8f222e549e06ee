// Package cli is herd's command line: cobra commands that send one request
// to the daemon and format its reply exactly as herd-cli.md specifies. It
// links only the wire protocol and the unix dialer, so herd starts fast.
package cli
