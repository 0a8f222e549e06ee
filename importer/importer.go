package importer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Pos is a place in a source file: 1-based line and column (0 when the
// whole line is meant).
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"column"`
}

func (p Pos) String() string {
	if p.Col > 0 {
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Warning is a directive of the source that was not carried over, or not
// exactly: every one is reported, none is dropped silently.
type Warning struct {
	Pos
	// Service is the service the directive belongs to ("" for the file).
	Service string `json:"service"`
	// Directive is what the source calls it: "ExecStartPre",
	// "stopasgroup", "#:transient?", "[include]".
	Directive string `json:"directive"`
	Message   string `json:"message"`
}

func (w Warning) String() string {
	return fmt.Sprintf("%s: %s: %s", w.Pos, w.Directive, w.Message)
}

// Ref is a name in the source, where it was written, and in which
// directive ("Requires", "#:requirement"; "" for the name itself).
type Ref struct {
	Name      string
	Pos       Pos
	Directive string
}

func (r Ref) directive() string {
	if r.Directive != "" {
		return r.Directive
	}
	return r.Name
}

// EnvVar is one variable of a service's environment, in source order.
type EnvVar struct{ Name, Value string }

// Limit is one resource limit; Soft or Hard is Unlimited for none.
type Limit struct {
	Name       string // as in config's limits: nofile, nproc, core, ...
	Soft, Hard uint64
}

// Unlimited is a Limit value without a limit.
const Unlimited = ^uint64(0)

// RespawnLimit is {count, seconds}, or unlimited.
type RespawnLimit struct {
	Count     int
	Window    time.Duration
	Unlimited bool
}

// LogRotate is {size, keep}.
type LogRotate struct {
	Size int64
	Keep int
}

// Action is a custom action whose command runs as the service's user;
// "$MAINPID" in an argument is the main PID.
type Action struct {
	Name          string
	Documentation string
	Command       []string
}

// Service is one service of our configuration as an importer produced it.
// A zero field is a key not written, so the loader's default applies.
type Service struct {
	Name          string
	Pos           Pos // where the source defines it
	Provides      []Ref
	Requires      []Ref
	Documentation string
	Command       []string
	Environment   []EnvVar
	// EnvironmentFiles is environment-file (issue 16): paths, a "-"
	// prefix making one optional.
	EnvironmentFiles    []string
	Directory           string
	User, Group         string
	SupplementaryGroups []string
	Umask               string // octal, "0027"
	Limits              []Limit
	Nice                *int
	IOClass             string // realtime, best-effort, idle
	IOPriority          *int
	LogFile             string
	LogRotate           *LogRotate
	PIDFile             string
	PIDFileTimeout      time.Duration
	// Ready is ready (issue 16): "notify" for sd_notify readiness.
	Ready string
	// MinUptime is min-uptime (issue 16): a start that exits sooner failed.
	MinUptime    time.Duration
	OneShot      bool
	Respawn      *bool
	RespawnLimit *RespawnLimit
	RespawnDelay time.Duration
	StopSignal   string // SIGTERM, SIGQUIT, ...
	StopTimeout  time.Duration
	AutoStart    *bool
	Instances    int
	Actions      []Action
}

// Result is what an importer produced from its source files.
type Result struct {
	// Source is the importer: "shepherd", "supervisord" or "systemd".
	Source   string
	Files    []string
	Services []*Service
	Warnings []Warning
}

// Warn records a warning.
func (r *Result) Warn(pos Pos, service, directive, format string, args ...any) {
	r.Warnings = append(r.Warnings, Warning{Pos: pos, Service: service, Directive: directive, Message: fmt.Sprintf(format, args...)})
}

// Bool returns a pointer to b, for the optional booleans of Service.
func Bool(b bool) *bool { return &b }

// Int returns a pointer to i.
func Int(i int) *int { return &i }

// FormatDuration writes d as the configuration reads it back: "5s",
// "100ms", "1m30s", "0.25s" when it has no shorter form.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d%time.Millisecond == 0:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return d.String()
}

// SignalName turns "TERM", "sigterm", "SIGTERM" or "15" into "SIGTERM";
// ok is false for what is not a signal.
func SignalName(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 64 {
			return "", false
		}
		if name := unix.SignalName(unix.Signal(n)); name != "" {
			return name, true
		}
		return s, true
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if unix.SignalNum(name) == 0 {
		return "", false
	}
	return name, true
}

// Finish makes the services valid together, as the loader checks them
// (services.Validate), warning for each change: a second service of the
// same name is dropped, an alias already taken is dropped, a requirement
// that no imported service provides is dropped (the source's other
// services are not ours to invent), a service requiring itself loses
// that, and a requirement that closes a dependency cycle is dropped.
func (r *Result) Finish() {
	owner := map[string]*Service{}
	var kept []*Service
	for _, s := range r.Services {
		if why := badName(s.Name); why != "" {
			r.Warn(s.Pos, "", s.Name, "%q is not a name shepherd accepts (%s): the service is not imported; rename it in the source", s.Name, why)
			continue
		}
		if prev, ok := owner[s.Name]; ok {
			r.Warn(s.Pos, s.Name, s.Name, "a second service named %s (the first is at %s): not imported; rename one of them in the source", s.Name, prev.Pos)
			continue
		}
		owner[s.Name] = s
		kept = append(kept, s)
	}
	r.Services = kept
	for _, s := range r.Services {
		var aliases []Ref
		for _, a := range s.Provides {
			if why := badName(a.Name); why != "" {
				r.Warn(a.Pos, s.Name, a.directive(), "alias %q is not a name shepherd accepts (%s): not carried over", a.Name, why)
				continue
			}
			if prev, ok := owner[a.Name]; ok {
				if prev != s {
					r.Warn(a.Pos, s.Name, a.directive(), "alias %s is already the name or an alias of service %s: not carried over", a.Name, prev.Name)
				}
				continue
			}
			owner[a.Name] = s
			aliases = append(aliases, a)
		}
		s.Provides = aliases
	}
	for _, s := range r.Services {
		var reqs []Ref
		for _, q := range s.Requires {
			t, ok := owner[q.Name]
			switch {
			case !ok:
				r.Warn(q.Pos, s.Name, q.directive(), "requirement %s is not among the imported services: not carried over (define a service or milestone named %s and add it back to requires)", q.Name, q.Name)
			case t == s:
				r.Warn(q.Pos, s.Name, q.directive(), "service %s requires itself: not carried over", s.Name)
			case slices.ContainsFunc(reqs, func(o Ref) bool { return owner[o.Name] == t }):
			default:
				reqs = append(reqs, Ref{Name: t.Name, Pos: q.Pos, Directive: q.Directive})
			}
		}
		s.Requires = reqs
	}
	r.breakCycles(owner)
}

// breakCycles drops, with a warning, each requirement that closes a
// cycle, in source order.
func (r *Result) breakCycles(owner map[string]*Service) {
	const (
		white = iota
		grey
		black
	)
	color := map[*Service]int{}
	var visit func(s *Service, path []string)
	visit = func(s *Service, path []string) {
		color[s] = grey
		path = append(path, s.Name)
		kept := s.Requires[:0]
		for _, q := range s.Requires {
			t := owner[q.Name]
			if color[t] == grey {
				r.Warn(q.Pos, s.Name, q.directive(), "requirement %s closes a dependency cycle (%s -> %s): not carried over", q.Name, strings.Join(path, " -> "), t.Name)
				continue
			}
			if color[t] == white {
				visit(t, path)
			}
			kept = append(kept, q)
		}
		s.Requires = kept
		color[s] = black
	}
	for _, s := range r.Services {
		if color[s] == white {
			visit(s, nil)
		}
	}
}

// SortWarnings orders the warnings by file (in the order of Files), line
// and column, keeping the order of those at one place.
func (r *Result) SortWarnings() {
	rank := func(f string) int {
		if i := slices.Index(r.Files, f); i >= 0 {
			return i
		}
		return len(r.Files)
	}
	slices.SortStableFunc(r.Warnings, func(a, b Warning) int {
		if a.File != b.File {
			if ra, rb := rank(a.File), rank(b.File); ra != rb {
				return ra - rb
			}
			return strings.Compare(a.File, b.File)
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
}

// badName says why the loader would refuse name as a service's name or
// alias, or "" if it would not. Names with control characters or other
// blanks are refused too: one could not type them after herd start.
func badName(name string) string {
	switch {
	case name == "":
		return "empty"
	case name == "shepherd" || name == "root":
		return "reserved for the daemon itself"
	case strings.HasPrefix(name, "-"):
		return "starts with -"
	case strings.Contains(name, "/"):
		return "contains /"
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			return "contains blanks or control characters"
		}
	}
	return ""
}
