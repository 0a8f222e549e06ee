package notifyconfig

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/alerting"

	"go.yaml.in/yaml/v3"
)

// Target types.
var notifyTypes = []string{"webhook", "slack", "script", "email"}

// Funcs are the functions a template may call (the notifier
// defines them; they are listed here so that a template is checked when
// the configuration is read).
var Funcs = template.FuncMap{
	"json":  func(any) string { return "" },
	"upper": strings.ToUpper,
}

// Parse reads the notify: key of one file, if it has one, reporting
// every problem at FILE:LINE:COL.
func Parse(file string, data []byte) (*alerting.Settings, services.ErrorList) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil // Parse reports these
	}
	var errs services.ErrorList
	p := parser{file: file, errs: &errs}
	root := doc.Content[0]
	var n *alerting.Settings
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "notify" {
			n = p.notify(root.Content[i+1])
		}
	}
	return n, errs
}

func (p parser) notify(v *yaml.Node) *alerting.Settings {
	n := &alerting.Settings{File: p.file, RetryMax: 5 * time.Minute, MaxAge: 24 * time.Hour, OutboxSize: 1000}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "notify: expected a mapping with 'targets' and 'rules', got %s", kindName(v))
		return n
	}
	var rulesNode *yaml.Node
	p.eachKey(v, func(key string, k, val *yaml.Node) {
		switch key {
		case "targets":
			if val.Kind != yaml.MappingNode {
				p.errorf(val, "notify: targets: expected a mapping of NAME: {type: ...}, got %s", kindName(val))
				return
			}
			p.eachKey(val, func(name string, kk, tv *yaml.Node) {
				if t, ok := p.notifyTarget(name, kk, tv); ok {
					n.Targets = append(n.Targets, t)
				}
			})
		case "rules":
			rulesNode = val
		case "recover-after":
			n.Policy.RecoverAfter = p.duration("notify: recover-after", val)
		case "flap-count":
			n.Policy.FlapCount = p.integer("notify: flap-count", val)
		case "flap-window":
			n.Policy.FlapWindow = p.duration("notify: flap-window", val)
		case "retry-max":
			if d := p.duration("notify: retry-max", val); d > 0 {
				n.RetryMax = d
			}
		case "max-age":
			if d := p.duration("notify: max-age", val); d > 0 {
				n.MaxAge = d
			}
		case "outbox-size":
			if n.OutboxSize = p.integer("notify: outbox-size", val); n.OutboxSize < 1 || n.OutboxSize > 100000 {
				p.errorf(val, "notify: outbox-size: must be between 1 and 100000")
				n.OutboxSize = 1000
			}
		default:
			p.errorf(k, "notify: unknown key %q (expected targets, rules, recover-after, flap-count, flap-window, retry-max, max-age or outbox-size)", key)
		}
	})
	for _, t := range n.Targets {
		n.Policy.Targets = append(n.Policy.Targets, alerting.Target{Name: t.Name, Cooldown: t.Cooldown, OnResolve: t.OnResolve})
	}
	if rulesNode != nil {
		n.Policy.Rules = p.notifyRules(rulesNode, n.Targets)
	} else if len(n.Targets) > 0 {
		p.errorf(v, "notify: no rules: no alert would go anywhere (add rules: [{on: [service-failed], to: [%s]}])", n.Targets[0].Name)
	}
	return n
}

func (p parser) notifyTarget(name string, k, v *yaml.Node) (alerting.TargetSettings, bool) {
	t := alerting.TargetSettings{Name: name, Timeout: 10 * time.Second}
	where := "notify: target " + name
	if !alerting.ValidTargetName(name) {
		p.errorf(k, "%s: a target name is letters, digits, '-' and '_'", where)
	}
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "%s: expected a mapping with a 'type', got %s", where, kindName(v))
		return t, false
	}
	var typeNode, bodyNode, subjectNode *yaml.Node
	p.eachKey(v, func(key string, kk, val *yaml.Node) {
		switch key {
		case "type":
			typeNode = val
			t.Type = p.str(where+": type", val)
		case "cooldown":
			t.Cooldown = p.duration(where+": cooldown", val)
		case "on-resolve":
			t.OnResolve = p.boolean(where+": on-resolve", val)
		case "timeout":
			if t.Timeout = p.duration(where+": timeout", val); t.Timeout <= 0 {
				t.Timeout = 10 * time.Second
			}
		case "url":
			t.URL = p.str(where+": url", val)
			if u, err := url.Parse(t.URL); t.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
				p.errorf(val, "%s: url: expected an http:// or https:// URL", where)
			}
		case "method":
			t.Method = strings.ToUpper(p.str(where+": method", val))
			if !slices.Contains([]string{"POST", "PUT", "PATCH", "GET"}, t.Method) {
				p.errorf(val, "%s: method: expected POST, PUT, PATCH or GET", where)
			}
		case "headers":
			t.Headers = map[string]string{}
			if val.Kind != yaml.MappingNode {
				p.errorf(val, "%s: headers: expected a mapping of Name: value", where)
				return
			}
			p.eachKey(val, func(h string, hk, hv *yaml.Node) {
				if strings.ContainsAny(h, " :\r\n") || h == "" {
					p.errorf(hk, "%s: headers: bad header name %q", where, h)
				}
				s := p.str(where+": headers: "+h, hv)
				if strings.ContainsAny(s, "\r\n") {
					p.errorf(hv, "%s: headers: %s: a value may not hold a line break", where, h)
				}
				t.Headers[h] = s
			})
		case "body":
			bodyNode = val
			t.Body = p.str(where+": body", val)
		case "command":
			t.Command = p.command(where+": command", val)
		case "smtp":
			t.SMTP = p.str(where+": smtp", val)
			if _, port, err := net.SplitHostPort(t.SMTP); t.SMTP != "" && (err != nil || port == "") {
				p.errorf(val, "%s: smtp: expected HOST:PORT (mail.example.com:587)", where)
			}
		case "from":
			t.From = p.str(where+": from", val)
		case "to":
			if val.Kind == yaml.ScalarNode {
				t.To = []string{p.str(where+": to", val)}
			} else {
				t.To = p.strs(where+": to", val)
			}
		case "username":
			t.Username = p.str(where+": username", val)
		case "password":
			t.Password = p.str(where+": password", val)
		case "password-file":
			file := p.absPath(where+": password-file", val)
			if file != "" {
				pw, err := readSecret(file)
				if err != nil {
					p.errorf(val, "%s: password-file: %v", where, err)
				}
				t.Password = pw
			}
		case "subject":
			subjectNode = val
			t.Subject = p.str(where+": subject", val)
		default:
			p.errorf(kk, "%s: unknown key %q", where, key)
		}
	})
	for _, s := range []struct {
		n    *yaml.Node
		text string
	}{{bodyNode, t.Body}, {subjectNode, t.Subject}} {
		if s.n != nil {
			if _, err := template.New(name).Funcs(Funcs).Option("missingkey=error").Parse(s.text); err != nil {
				p.errorf(s.n, "%s: bad template: %v", where, err)
			}
		}
	}
	need := func(ok bool, key, example string) {
		if !ok {
			p.errorf(v, "%s: a %s target needs %s (%s)", where, t.Type, key, example)
		}
	}
	switch t.Type {
	case "webhook", "slack":
		need(t.URL != "", "url", "url: https://hooks.example.com/...")
		if t.Method == "" {
			t.Method = "POST"
		}
	case "script":
		need(len(t.Command) > 0, "a command", "command: [/usr/local/bin/page-me]")
		if len(t.Command) > 0 && !strings.HasPrefix(t.Command[0], "/") {
			p.errorf(v, "%s: command: %q must be an absolute path", where, t.Command[0])
		}
	case "email":
		need(t.SMTP != "", "smtp", "smtp: mail.example.com:587")
		need(t.From != "", "from", "from: shepherd@example.com")
		need(len(t.To) > 0, "to", "to: [ops@example.com]")
		for _, a := range append([]string{t.From}, t.To...) {
			if strings.ContainsAny(a, "\r\n<>,") {
				p.errorf(v, "%s: bad address %q", where, a)
			}
		}
	case "":
		if typeNode == nil {
			p.errorf(v, "%s: no type (expected one of %s)", where, strings.Join(notifyTypes, ", "))
		}
		return t, false
	default:
		p.errorf(typeNode, "%s: unknown type %q (expected one of %s)", where, t.Type, strings.Join(notifyTypes, ", "))
		return t, false
	}
	return t, true
}

func (p parser) notifyRules(v *yaml.Node, targets []alerting.TargetSettings) []alerting.Rule {
	if v.Kind != yaml.SequenceNode {
		p.errorf(v, "notify: rules: expected a list, got %s", kindName(v))
		return nil
	}
	var rules []alerting.Rule
	for i, item := range v.Content {
		where := fmt.Sprintf("notify: rule %d", i+1)
		if item.Kind != yaml.MappingNode {
			p.errorf(item, "%s: expected a mapping with 'on' and 'to', got %s", where, kindName(item))
			continue
		}
		var r alerting.Rule
		var toNode *yaml.Node
		p.eachKey(item, func(key string, k, val *yaml.Node) {
			list := func() []string {
				if val.Kind == yaml.ScalarNode {
					return []string{p.str(where+": "+key, val)}
				}
				return p.strs(where+": "+key, val)
			}
			switch key {
			case "on":
				for _, c := range list() {
					if !slices.Contains(alerting.Classes, alerting.Class(c)) {
						p.errorf(val, "%s: on: unknown alert %q (expected %s)", where, c, alerting.ClassNames())
						continue
					}
					r.On = append(r.On, alerting.Class(c))
				}
			case "subjects", "services", "jobs":
				for _, s := range list() {
					if _, err := path.Match(s, ""); err != nil {
						p.errorf(val, "%s: %s: bad pattern %q", where, key, s)
					}
					r.Subjects = append(r.Subjects, s)
				}
			case "to":
				toNode = val
				for _, name := range list() {
					if !slices.ContainsFunc(targets, func(t alerting.TargetSettings) bool { return t.Name == name }) {
						p.errorf(val, "%s: to: no target %q in notify: targets", where, name)
						continue
					}
					r.To = append(r.To, name)
				}
			default:
				p.errorf(k, "%s: unknown key %q (expected on, subjects, to)", where, key)
			}
		})
		if toNode == nil {
			p.errorf(item, "%s: no 'to': which targets?", where)
		}
		rules = append(rules, r)
	}
	return rules
}

// readSecret reads a password file: a regular file of at most 4 KiB
// (not a FIFO or a device, which could hold the daemon's start forever).
func readSecret(file string) (string, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", file)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4097))
	if err != nil {
		return "", err
	}
	if len(b) > 4096 {
		return "", fmt.Errorf("%s holds more than 4 KiB", file)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// The YAML helpers below are services/config's, for the notify: section
// alone (a package of its own keeps config under its size limit).

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

func (p parser) boolean(key string, v *yaml.Node) bool {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		p.errorf(v, "%s: expected true or false, got %s", key, kindName(v))
		return false
	}
	return v.Value == "true"
}

func (p parser) integer(key string, v *yaml.Node) int {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		p.errorf(v, "%s: expected a whole number, got %s", key, kindName(v))
		return 0
	}
	i, err := strconv.Atoi(v.Value)
	if err != nil {
		p.errorf(v, "%s: expected a whole number, got %q", key, v.Value)
	}
	return i
}

func (p parser) absPath(key string, v *yaml.Node) string {
	s := p.str(key, v)
	if s != "" && !strings.HasPrefix(s, "/") {
		p.errorf(v, "%s: %q must be an absolute path", key, s)
	}
	return s
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
