package services

import (
	"slices"
	"strings"
)

// BuiltinActions cannot be redefined as custom actions. "reload" is not
// one: `herd reload` alone re-reads the configuration, while
// `herd reload SERVICE` is the service's custom action (as in Shepherd).
// "spawn" is the daemon's (herd spawn), which the HTTP API's route of
// custom actions must never reach.
var BuiltinActions = []string{"start", "stop", "restart", "status", "enable", "disable", "doc", "log", "graph", "load", "unload", "history", "events", "kill", "spawn"}

// Validate checks services together: unique names and aliases, known
// requirements (and after, wants, conflicts: order.go), no cycles. It
// rewrites each Requires (After, Wants, Conflicts) entry to the canonical
// name of the service it designates, and orders Requires and Wants by
// StartOrder.
func Validate(specs []*Spec) ErrorList {
	var errs ErrorList
	owner := map[string]*Spec{} // name or alias -> service
	for _, s := range specs {
		if prev, ok := owner[s.Name]; ok {
			errs.Add(s.Pos, "duplicate service name %q (first defined at %s:%d:%d)", s.Name, prev.Pos.File, prev.Pos.Line, prev.Pos.Col)
			continue
		}
		owner[s.Name] = s
	}
	for _, s := range specs {
		for _, a := range s.Provides {
			if prev, ok := owner[a]; ok && prev != s {
				errs.Add(s.Pos, "service %s: alias %q is already the name or an alias of service %s", s.Name, a, prev.Name)
				continue
			}
			owner[a] = s
		}
	}
	for _, s := range specs {
		var reqs []string
		for _, r := range s.Requires {
			t, ok := owner[r]
			switch {
			case !ok:
				errs.Add(s.Pos, "service %s requires unknown service %q", s.Name, r)
			case t == s:
				errs.Add(s.Pos, "service %s requires itself", s.Name)
			case !slices.Contains(reqs, t.Name):
				reqs = append(reqs, t.Name)
			}
		}
		s.Requires = reqs
	}
	errs = append(errs, resolveRelations(specs, owner)...)
	errs = append(errs, cycles(specs)...)
	orderStarts(specs)
	errs = append(errs, validateListen(specs)...)
	errs.Sort()
	return errs
}

// cycles reports each dependency cycle once, with its path.
func cycles(specs []*Spec) ErrorList {
	var errs ErrorList
	byName := map[string]*Spec{}
	for _, s := range specs {
		if _, dup := byName[s.Name]; !dup {
			byName[s.Name] = s
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(s *Spec)
	visit = func(s *Spec) {
		color[s.Name] = grey
		stack = append(stack, s.Name)
		// A service waits for those it requires and those it is
		// after: a cycle of either waits for itself.
		for _, r := range slices.Concat(s.Requires, s.After) {
			t := byName[r]
			if t == nil {
				continue
			}
			switch color[r] {
			case grey:
				i := slices.Index(stack, r)
				path := append(slices.Clone(stack[i:]), r)
				errs.Add(byName[stack[i]].Pos, "dependency cycle: %s", strings.Join(path, " -> "))
			case white:
				visit(t)
			}
		}
		stack = stack[:len(stack)-1]
		color[s.Name] = black
	}
	for _, s := range specs {
		if color[s.Name] == white && byName[s.Name] == s {
			visit(s)
		}
	}
	return errs
}
