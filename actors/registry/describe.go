package registry

import (
	"slices"
	"strings"
)

// Describe asks for every service as the metrics see it; Reply gets them
// sorted by name. With Only set, just that service (by name or alias),
// if it is known.
type Describe struct {
	Only  string
	Reply chan<- []Described
}

// Described is one service as the registry knows it: its summary's
// state, and what its definition says of how it runs.
type Described struct {
	Name    string
	State   string
	Enabled bool
	// Ready names how the service says it is ready (notify, fd, tcp,
	// http, exec; "" when running means started).
	Ready string
	// Remote: a proxy (its controller address answers proxy.Stats).
	// Command: a service with processes (and so, perhaps, a cgroup).
	// Group: a service with instances, whose own state combines theirs.
	Remote, Command, Group bool
}

func (r *registry) describe(msg *Describe) {
	st := r.st
	if msg.Only != "" {
		name, ok := st.aliases[msg.Only]
		if !ok {
			msg.Reply <- nil
			return
		}
		msg.Reply <- []Described{r.described(name)}
		return
	}
	out := make([]Described, 0, len(st.summaries))
	for name := range st.summaries {
		out = append(out, r.described(name))
	}
	slices.SortFunc(out, func(a, b Described) int { return strings.Compare(a.Name, b.Name) })
	msg.Reply <- out
}

func (r *registry) described(name string) Described {
	st := r.st
	sum := st.summaries[name]
	d := Described{Name: name, State: sum.State, Enabled: sum.Enabled}
	if s, ok := st.specs[name]; ok {
		_, group := st.instancesOf[name]
		d.Ready, d.Remote, d.Group = s.Ready.Kind(), s.Remote != "", group
		d.Command = len(s.Command) > 0 && !group
	}
	return d
}
