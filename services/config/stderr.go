package config

import (
	"path/filepath"

	"github.com/shepherd-go/shepherd/services"

	"go.yaml.in/yaml/v3"
)

// checkStderrLogFile judges stderr-log-file once the whole service is
// read: it is the stderr of a process, and a file of its own.
func (p parser) checkStderrLogFile(s *services.Spec, v *yaml.Node) {
	if v == nil || s.StderrLogFile == "" {
		return
	}
	if len(s.Command) == 0 {
		p.Errorf(v, "service %s: stderr-log-file needs a command (it is where the process's stderr goes)", s.Name)
	}
	if s.LogFile != "" && filepath.Clean(s.LogFile) == filepath.Clean(s.StderrLogFile) {
		p.Errorf(v, "service %s: stderr-log-file is the log-file; without stderr-log-file, stderr goes to the log-file with stdout", s.Name)
	}
}
