package config

import (
	"fmt"
	"strings"

	"github.com/shepherd-go/shepherd/services"
	"go.yaml.in/yaml/v3"
)

// TransientSpec is the definition of a transient service (`herd spawn`):
// name runs argv, as user if set, respawned if respawn; it is not
// started by the daemon's start (auto-start: false). It is read as a
// file with those keys would be, so that the name, the command and the
// user are checked as any service's; who is recorded in its
// documentation. A name or a command that no services file could hold
// is refused with what to do.
func TransientSpec(name string, argv []string, user string, respawn bool, who string, acc Accounts) (*services.Spec, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("spawn: no command (herd spawn [--name NAME] -- COMMAND [ARG...])")
	}
	type doc struct {
		Name          string   `yaml:"name"`
		Documentation string   `yaml:"documentation"`
		Command       []string `yaml:"command,flow"`
		Respawn       bool     `yaml:"respawn"`
		AutoStart     bool     `yaml:"auto-start"`
		User          string   `yaml:"user,omitempty"`
	}
	d := doc{Name: name, Command: argv, Respawn: respawn, User: user,
		Documentation: fmt.Sprintf("Transient service spawned by %s.", who)}
	b, err := yaml.Marshal(map[string][]doc{"services": {d}})
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", name, err)
	}
	specs, errs := Parse(services.TransientFile, b, acc)
	if len(errs) > 0 {
		// Without their positions: in a document the user never saw.
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Msg
		}
		return nil, fmt.Errorf("spawn: %s", strings.Join(msgs, "; "))
	}
	if len(specs) != 1 {
		return nil, fmt.Errorf("spawn %s: expected one service, got %d", name, len(specs))
	}
	s := specs[0]
	s.Transient = true
	return s, nil
}
