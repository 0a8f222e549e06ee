package config

import (
	"slices"
	"strconv"
	"strings"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/yamlnode"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sys/unix"
)

// exitCodes reads `exit-codes: [0, 143, SIGTERM]`: exit codes 0..255 and
// signal names, as systemd's SuccessExitStatus= takes them (a number is
// always an exit code, never a signal).
func (p parser) exitCodes(v *yaml.Node) services.ExitCodes {
	const want = "a list of exit codes (0..255) and signal names, such as [0, 143, SIGTERM]"
	var out services.ExitCodes
	if v.Kind != yaml.SequenceNode {
		p.Errorf(v, "exit-codes: expected %s, got %s", want, yamlnode.KindName(v))
		return out
	}
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			p.Errorf(e, "exit-codes: expected an exit code or a signal name, got %s", yamlnode.KindName(e))
			continue
		}
		if e.Tag == "!!int" {
			c, err := strconv.Atoi(e.Value)
			if err != nil || c < 0 || c > 255 {
				p.Errorf(e, "exit-codes: %s is not an exit code 0..255", e.Value)
				continue
			}
			if !slices.Contains(out.Codes, c) {
				out.Codes = append(out.Codes, c)
			}
			continue
		}
		name := strings.ToUpper(e.Value)
		if !strings.HasPrefix(name, "SIG") {
			name = "SIG" + name
		}
		sig := unix.SignalNum(name)
		if sig == 0 {
			p.Errorf(e, "exit-codes: %q is neither an exit code 0..255 nor a signal name such as SIGTERM", e.Value)
			continue
		}
		if !slices.Contains(out.Signals, sig) {
			out.Signals = append(out.Signals, sig)
		}
	}
	return out
}

// respawn reads `respawn: true | false | on-failure`; on-failure respawns
// unless the exit status is a success status (exit-codes).
func (p parser) respawn(v *yaml.Node) (respawn, onFailure bool) {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value == "on-failure" {
		return true, true
	}
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		p.Errorf(v, "respawn: expected true, false or on-failure, got %s", yamlnode.KindName(v))
		return false, false
	}
	return v.Value == "true", false
}

// checkExitCodes judges exit-codes once the whole service is read: it is
// about a process, so a milestone or a remote service has none to judge.
func (p parser) checkExitCodes(s *services.Spec, v *yaml.Node) {
	if v == nil {
		return
	}
	if len(s.Command) == 0 {
		p.Errorf(v, "service %s: exit-codes needs a command (it says which exits of the process are a success)", s.Name)
	}
}
