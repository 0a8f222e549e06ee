// Package herdtools is herd-tools: herd with the commands that read
// configuration files or reach other hosts themselves (hosts, fleet,
// config validate, import). They link a YAML parser, x/crypto/ssh and the
// importers, whose start-up herd's other commands should not pay; herd
// runs herd-tools in their place (cli.ToolsCommands).
//
// herd-tools' tree is herd's whole tree (NewRootCmd), so that it is also
// what the manual pages, the completions and the JSON schemas describe:
// Documents says what every command prints with --json.
package herdtools
