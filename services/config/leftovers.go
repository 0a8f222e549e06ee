package config

import "go.yaml.in/yaml/v3"

// leftovers reads `leftovers: adopt | stop`: what a daemon does, at its
// start, with the processes of the service that a previous daemon, which
// ended without stopping them, left running (adoption.Decide).
// It returns whether they are to be stopped.
func (p parser) leftovers(key string, v *yaml.Node) bool {
	switch s := p.Str(key, v); s {
	case "adopt":
		return false
	case "stop":
		return true
	case "":
		return false // p.str said what is wrong
	default:
		p.Errorf(v, "%s: expected adopt or stop, got %q", key, s)
		return false
	}
}
