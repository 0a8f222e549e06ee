package monitorconfig

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/yamlnode"
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
	p := parser{Parser: yamlnode.Parser{File: file, Errs: &errs}}
	root := doc.Content[0]
	var out []Monitor
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "monitors" {
			continue
		}
		v := root.Content[i+1]
		if v.Kind != yaml.SequenceNode {
			p.Errorf(v, "monitors: expected a list, got %s", yamlnode.KindName(v))
			continue
		}
		seen := map[string]bool{}
		for _, item := range v.Content {
			m, ok := p.monitor(item)
			if !ok {
				continue
			}
			if seen[m.Name] {
				p.Errorf(item, "monitors: %q is listed twice", m.Name)
				continue
			}
			seen[m.Name] = true
			out = append(out, m)
		}
	}
	return out, errs
}

func (p parser) monitor(n *yaml.Node) (Monitor, bool) {
	m := Monitor{Pos: services.Pos{File: p.File, Line: n.Line, Col: n.Column}, Interval: time.Minute}
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "monitors: expected a mapping with a 'name', got %s", yamlnode.KindName(n))
		return m, false
	}
	before := len(*p.Errs)
	var timeout *yaml.Node
	p.EachKey(n, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			m.Name = p.Str("name", v)
		case "command":
			m.Command = p.Command("command", v)
		case "interval":
			m.Interval = p.Duration("interval", v)
		case "timeout":
			m.Timeout, timeout = p.Duration("timeout", v), v
		case "thresholds":
			for _, s := range p.Strs("thresholds", v) {
				th, err := ParseThreshold(s)
				if err != nil {
					p.Errorf(v, "monitor %s: %v", m.Name, err)
					continue
				}
				m.Thresholds = append(m.Thresholds, th)
			}
		default:
			p.Errorf(k, "monitors: unknown key %q (expected name, command, interval, timeout, thresholds)", key)
		}
	})
	switch {
	case m.Name == "":
		p.Errorf(n, "monitors: a monitor needs a name")
	case len(m.Command) == 0 && !isBuiltinMonitor(m.Name):
		p.Errorf(n, "monitor %q: no command, and no built-in monitor has that name (built in: %s)", m.Name, strings.Join(BuiltinMonitors, ", "))
	case !validMonitorName(m.Name):
		p.Errorf(n, "monitor %q: a name is letters, digits, '-', '_' and '.'", m.Name)
	}
	if m.Interval < time.Second {
		p.Errorf(n, "monitor %s: interval %s is less than 1s", m.Name, m.Interval)
	}
	if m.Timeout == 0 {
		m.Timeout = min(10*time.Second, m.Interval)
	} else if m.Timeout > m.Interval {
		p.Errorf(timeout, "monitor %s: timeout %s is longer than the interval %s", m.Name, m.Timeout, m.Interval)
	}
	return m, len(*p.Errs) == before
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

type parser struct{ yamlnode.Parser }
