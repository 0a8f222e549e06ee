package config

import (
	"github.com/shepherd-go/shepherd/services"

	"go.yaml.in/yaml/v3"
)

// logTarget reads `log: file | syslog | both`.
func (p parser) logTarget(v *yaml.Node) services.LogTarget {
	switch t := p.Str("log", v); t {
	case "file", "":
	case "syslog":
		return services.LogSyslog
	case "both":
		return services.LogBoth
	default:
		p.Errorf(v, "log: expected file, syslog or both, got %q", t)
	}
	return services.LogFile
}

// checkLogTarget: `log: syslog` writes no file, so the keys of files say
// something that would not happen.
func (p parser) checkLogTarget(s *services.Spec, v *yaml.Node) {
	if v == nil || s.Log.Files() {
		return
	}
	for _, k := range []struct {
		key string
		set bool
	}{{"log-file", s.LogFile != ""}, {"stderr-log-file", s.StderrLogFile != ""}, {"log-rotate", s.LogRotate.Size > 0}} {
		if k.set {
			p.Errorf(v, "service %s: log: syslog writes no file, and %s is set: say log: both to keep the files too, or remove %s", s.Name, k.key, k.key)
		}
	}
}
