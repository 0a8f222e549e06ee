package monitorconfig

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"go.yaml.in/yaml/v3"
)

// BuiltinMonitors are the names of the monitors built into the daemon
// (docs/monitors.md). A monitor with a command is a plugin.
var BuiltinMonitors = []string{"load", "cpu", "memory", "disk", "uptime", "kernel", "packages"}

// Monitor is one entry of the top-level monitors list.
type Monitor struct {
	Name string
	Pos  services.Pos
	// Command is a plugin's command line; empty for a built-in.
	Command []string
	// Interval between samples. Default 1m; at least 1s.
	Interval time.Duration
	// Timeout of one sample (a plugin killed past it). Default 10s, and
	// never more than Interval.
	Timeout    time.Duration
	Thresholds []Threshold
}

// Threshold raises an alert when a fact crosses a value:
// "memory.available < 5%" or "disk./ > 90%".
type Threshold struct {
	Text  string // as written
	Name  string // "memory.available", "disk./", or any fact name
	Op    string // <, <=, >, >=, ==, !=
	Value float64
	// Percent compares a percentage: of memory.total for memory.*,
	// the used share of a mount for disk.MOUNT, or the fact NAME_pct.
	Percent bool
}

var thresholdRE = regexp.MustCompile(`^\s*([A-Za-z0-9_./:-]+)\s*(<=|>=|==|!=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(%?)\s*$`)

// ParseThreshold reads "NAME OP NUMBER[%]".
func ParseThreshold(s string) (Threshold, error) {
	m := thresholdRE.FindStringSubmatch(s)
	if m == nil {
		return Threshold{}, fmt.Errorf("threshold %q: expected NAME OP NUMBER[%%], as 'memory.available < 5%%' or 'disk./ > 90%%'", s)
	}
	v, _ := strconv.ParseFloat(m[3], 64)
	return Threshold{Text: strings.TrimSpace(s), Name: m[1], Op: m[2], Value: v, Percent: m[4] == "%"}, nil
}

// Parse reads the monitors key of a file; services/config calls it for
// each file of a configuration.
func Parse(file string, data []byte) ([]Monitor, services.ErrorList) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil // Parse reports these
	}
	var errs services.ErrorList
	p := parser{file: file, errs: &errs}
	root := doc.Content[0]
	var out []Monitor
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "monitors" {
			continue
		}
		v := root.Content[i+1]
		if v.Kind != yaml.SequenceNode {
			p.errorf(v, "monitors: expected a list, got %s", kindName(v))
			continue
		}
		seen := map[string]bool{}
		for _, item := range v.Content {
			m, ok := p.monitor(item)
			if !ok {
				continue
			}
			if seen[m.Name] {
				p.errorf(item, "monitors: %q is listed twice", m.Name)
				continue
			}
			seen[m.Name] = true
			out = append(out, m)
		}
	}
	return out, errs
}

func (p parser) monitor(n *yaml.Node) (Monitor, bool) {
	m := Monitor{Pos: services.Pos{File: p.file, Line: n.Line, Col: n.Column}, Interval: time.Minute}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "monitors: expected a mapping with a 'name', got %s", kindName(n))
		return m, false
	}
	before := len(*p.errs)
	var timeout *yaml.Node
	p.eachKey(n, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			m.Name = p.str("name", v)
		case "command":
			m.Command = p.command("command", v)
		case "interval":
			m.Interval = p.duration("interval", v)
		case "timeout":
			m.Timeout, timeout = p.duration("timeout", v), v
		case "thresholds":
			for _, s := range p.strs("thresholds", v) {
				th, err := ParseThreshold(s)
				if err != nil {
					p.errorf(v, "monitor %s: %v", m.Name, err)
					continue
				}
				m.Thresholds = append(m.Thresholds, th)
			}
		default:
			p.errorf(k, "monitors: unknown key %q (expected name, command, interval, timeout, thresholds)", key)
		}
	})
	switch {
	case m.Name == "":
		p.errorf(n, "monitors: a monitor needs a name")
	case len(m.Command) == 0 && !isBuiltinMonitor(m.Name):
		p.errorf(n, "monitor %q: no command, and no built-in monitor has that name (built in: %s)", m.Name, strings.Join(BuiltinMonitors, ", "))
	case !validMonitorName(m.Name):
		p.errorf(n, "monitor %q: a name is letters, digits, '-', '_' and '.'", m.Name)
	}
	if m.Interval < time.Second {
		p.errorf(n, "monitor %s: interval %s is less than 1s", m.Name, m.Interval)
	}
	if m.Timeout == 0 {
		m.Timeout = min(10*time.Second, m.Interval)
	} else if m.Timeout > m.Interval {
		p.errorf(timeout, "monitor %s: timeout %s is longer than the interval %s", m.Name, m.Timeout, m.Interval)
	}
	return m, len(*p.errs) == before
}

func isBuiltinMonitor(name string) bool {
	for _, b := range BuiltinMonitors {
		if b == name {
			return true
		}
	}
	return false
}

func validMonitorName(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return s != ""
}

type parser struct {
	file string
	errs *services.ErrorList
}

func (p parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs.Add(services.Pos{File: p.file, Line: n.Line, Col: n.Column}, format, args...)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "nothing"
}

// eachKey calls f for every key of a mapping, reporting duplicate keys.
func (p parser) eachKey(m *yaml.Node, f func(key string, k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k, "expected a key, got %s", kindName(k))
			continue
		}
		if seen[k.Value] {
			p.errorf(k, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		f(k.Value, k, v)
	}
}

func (p parser) scalar(key string, v *yaml.Node, want string) bool {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.errorf(v, "%s: expected %s, got %s", key, want, kindName(v))
		return false
	}
	return true
}

func (p parser) str(key string, v *yaml.Node) string {
	if !p.scalar(key, v, "a string") {
		return ""
	}
	return v.Value
}

func (p parser) strs(key string, v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode {
		p.errorf(v, "%s: expected a list of strings, got %s", key, kindName(v))
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		if s := p.str(key, e); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// command is a list, or a string split on blanks.
func (p parser) command(key string, v *yaml.Node) []string {
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		return strings.Fields(v.Value)
	}
	return p.strs(key, v)
}

// duration accepts Go durations ("100ms", "1h30m"), days ("30d") or a
// number of seconds, as services/config does.
func (p parser) duration(key string, v *yaml.Node) time.Duration {
	if !p.scalar(key, v, "a duration") {
		return 0
	}
	if n, ok := strings.CutSuffix(v.Value, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return time.Duration(days) * 24 * time.Hour
		}
	}
	if v.Tag == "!!int" || v.Tag == "!!float" {
		f, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || f < 0 || f > 1e9 {
			p.errorf(v, "bad duration %q for %s", v.Value, key)
			return 0
		}
		return time.Duration(f * float64(time.Second))
	}
	d, err := time.ParseDuration(v.Value)
	if err != nil || d < 0 {
		p.errorf(v, "bad duration %q for %s (examples: 100ms, 5s, 2m)", v.Value, key)
		return 0
	}
	return d
}
