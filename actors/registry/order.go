package registry

import (
	"slices"

	"github.com/shepherd-go/shepherd/actors/logger"

	"github.com/shepherd-go/shepherd/services"
)

// conflicts are, for each service (and instance), the services it
// conflicts with both ways: those its definition names, and those whose
// definition names it (or its group). A conflict is one relation between
// two services, whichever side wrote it (systemd's Conflicts=).
func (r *registry) conflicts() map[string][]string {
	st := r.st
	out := map[string][]string{}
	add := func(a, b string) {
		if !slices.Contains(out[a], b) {
			out[a] = append(out[a], b)
		}
	}
	for name, s := range st.specs {
		for _, c := range s.Conflicts {
			add(name, c)
			if _, instance := st.groupOf[name]; !instance {
				add(c, name)
			}
		}
	}
	// An instance conflicts with what its group does.
	for name := range st.specs {
		if g, ok := st.groupOf[name]; ok {
			for _, c := range out[g] {
				add(name, c)
			}
		}
	}
	for _, cs := range out {
		slices.Sort(cs)
	}
	return out
}

// namedBy says which of s's after, wants or conflicts names name, or "".
func namedBy(s *services.Spec, name string) string {
	switch {
	case slices.Contains(s.After, name):
		return "after"
	case slices.Contains(s.Wants, name):
		return "wants"
	case slices.Contains(s.Conflicts, name):
		return "conflicts"
	}
	return ""
}

// startOrder returns specs ordered so that each comes after the services
// of the batch it is after or requires, otherwise in the order given.
func startOrder(specs []*services.Spec, all map[string]*services.Spec) []*services.Spec {
	names := make([]string, len(specs))
	bySpec := make(map[string]*services.Spec, len(specs))
	for i, s := range specs {
		names[i] = s.Name
		bySpec[s.Name] = s
	}
	out := make([]*services.Spec, 0, len(specs))
	for _, n := range services.StartOrder(names, all) {
		out = append(out, bySpec[n])
	}
	return out
}

// logTargets sends a service's lines to the system log as well as, or
// instead of, its files (`log:`).
func (st *registryState) logTargets(s *services.Spec, files *logger.Files) {
	if s.Log.Syslog() {
		files.Syslog = st.env.SyslogPath
		if files.Syslog == "" {
			files.Syslog = DefaultSyslogPath
		}
	}
	if !s.Log.Files() {
		files.Path, files.StderrPath = "", ""
	}
}

// DefaultSyslogPath is the system log's socket.
const DefaultSyslogPath = "/dev/log"
