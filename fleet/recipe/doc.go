// Package recipe is herd recipe's: named, parameterized lists of steps
// run on fleet hosts. A recipe is a YAML file (a recipes directory holds
// one per NAME.yaml) or an entry of the inventory's recipes: section;
// its params are described, defaulted or required; its steps are Go
// templates ({{.param}}, {{.Host}}, {{.Group}}, {{.Timestamp}}) that run
// on every host that has not failed yet, on the hosts that failed the
// step before (when: failed, @failed), or on those whose answer to the
// step before changed (when: changed, @changed).
//
// Parsing, binding params, rendering and choosing a step's hosts are
// pure and table-tested; herd's fleetcmd runs the steps.
package recipe
