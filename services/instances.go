package services

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// An instance knows its number: InstanceEnv in its environment, and
// InstanceRef replaced by it in its command's arguments, its environment's
// values and its readiness probe (`--port=80{instance}`), so that N copies
// of a server can listen on N ports (supervisord's %(process_num)d,
// systemd's %i).
const (
	InstanceRef = "{instance}"
	InstanceEnv = "SHEPHERD_INSTANCE"
)

// ExpandInstance replaces every InstanceRef in s by i.
func ExpandInstance(s string, i int) string {
	if !strings.Contains(s, InstanceRef) {
		return s
	}
	return strings.ReplaceAll(s, InstanceRef, strconv.Itoa(i))
}

// instantiate gives c, a copy of a group's definition, the number i: it
// replaces InstanceRef where it means the number and sets InstanceEnv.
// Nothing it changes is shared with the group's definition.
func (c *Spec) instantiate(i int) {
	expand := func(ss []string) []string {
		out := slices.Clone(ss)
		for k := range out {
			out[k] = ExpandInstance(out[k], i)
		}
		return out
	}
	c.Command = expand(c.Command)
	env := maps.Clone(c.Environment)
	if env == nil {
		env = map[string]string{}
	}
	for k, v := range env {
		env[k] = ExpandInstance(v, i)
	}
	env[InstanceEnv] = strconv.Itoa(i)
	c.Environment = env
	if r := c.Ready; r != nil {
		x := *r
		x.TCP, x.HTTP, x.Exec = ExpandInstance(x.TCP, i), ExpandInstance(x.HTTP, i), expand(x.Exec)
		c.Ready = &x
	}
}
