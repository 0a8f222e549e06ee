package notifyconfig

import (
	"cmp"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/alerting"
	"github.com/shepherd-go/shepherd/services/yamlnode"

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
	p := parser{Parser: yamlnode.Parser{File: file, Errs: &errs}}
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
	n := &alerting.Settings{File: p.File, RetryMax: 5 * time.Minute, MaxAge: 24 * time.Hour, OutboxSize: 1000}
	if v.Kind != yaml.MappingNode {
		p.Errorf(v, "notify: expected a mapping with 'targets' and 'rules', got %s", yamlnode.KindName(v))
		return n
	}
	var rulesNode *yaml.Node
	p.EachKey(v, func(key string, k, val *yaml.Node) {
		switch key {
		case "targets":
			if val.Kind != yaml.MappingNode {
				p.Errorf(val, "notify: targets: expected a mapping of NAME: {type: ...}, got %s", yamlnode.KindName(val))
				return
			}
			p.EachKey(val, func(name string, kk, tv *yaml.Node) {
				if t, ok := p.notifyTarget(name, kk, tv); ok {
					n.Targets = append(n.Targets, t)
				}
			})
		case "rules":
			rulesNode = val
		case "recover-after":
			n.Policy.RecoverAfter = p.Duration("notify: recover-after", val)
		case "flap-count":
			n.Policy.FlapCount = p.Integer("notify: flap-count", val)
		case "flap-window":
			n.Policy.FlapWindow = p.Duration("notify: flap-window", val)
		case "retry-max":
			if d := p.Duration("notify: retry-max", val); d > 0 {
				n.RetryMax = d
			}
		case "max-age":
			if d := p.Duration("notify: max-age", val); d > 0 {
				n.MaxAge = d
			}
		case "outbox-size":
			if n.OutboxSize = p.Integer("notify: outbox-size", val); n.OutboxSize < 1 || n.OutboxSize > 100000 {
				p.Errorf(val, "notify: outbox-size: must be between 1 and 100000")
				n.OutboxSize = 1000
			}
		default:
			p.Errorf(k, "notify: unknown key %q (expected targets, rules, recover-after, flap-count, flap-window, retry-max, max-age or outbox-size)", key)
		}
	})
	for _, t := range n.Targets {
		n.Policy.Targets = append(n.Policy.Targets, alerting.Target{Name: t.Name, Cooldown: t.Cooldown, OnResolve: t.OnResolve})
	}
	if rulesNode != nil {
		n.Policy.Rules = p.notifyRules(rulesNode, n.Targets)
	} else if len(n.Targets) > 0 {
		p.Errorf(v, "notify: no rules: no alert would go anywhere (add rules: [{on: [service-failed], to: [%s]}])", n.Targets[0].Name)
	}
	return n
}

func (p parser) notifyTarget(name string, k, v *yaml.Node) (alerting.TargetSettings, bool) {
	t := alerting.TargetSettings{Name: name, Timeout: 10 * time.Second}
	where := "notify: target " + name
	if !alerting.ValidTargetName(name) {
		p.Errorf(k, "%s: a target name is letters, digits, '-' and '_'", where)
	}
	if v.Kind != yaml.MappingNode {
		p.Errorf(v, "%s: expected a mapping with a 'type', got %s", where, yamlnode.KindName(v))
		return t, false
	}
	var typeNode, bodyNode, subjectNode *yaml.Node
	p.EachKey(v, func(key string, kk, val *yaml.Node) {
		switch key {
		case "type":
			typeNode = val
			t.Type = p.Str(where+": type", val)
		case "cooldown":
			t.Cooldown = p.Duration(where+": cooldown", val)
		case "on-resolve":
			t.OnResolve = p.Boolean(where+": on-resolve", val)
		case "timeout":
			if t.Timeout = p.Duration(where+": timeout", val); t.Timeout <= 0 {
				t.Timeout = 10 * time.Second
			}
		case "url":
			t.URL = p.Str(where+": url", val)
			if u, err := url.Parse(t.URL); t.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
				p.Errorf(val, "%s: url: expected an http:// or https:// URL", where)
			}
		case "method":
			t.Method = strings.ToUpper(p.Str(where+": method", val))
			if !slices.Contains([]string{"POST", "PUT", "PATCH", "GET"}, t.Method) {
				p.Errorf(val, "%s: method: expected POST, PUT, PATCH or GET", where)
			}
		case "headers":
			t.Headers = map[string]string{}
			if val.Kind != yaml.MappingNode {
				p.Errorf(val, "%s: headers: expected a mapping of Name: value", where)
				return
			}
			p.EachKey(val, func(h string, hk, hv *yaml.Node) {
				if strings.ContainsAny(h, " :\r\n") || h == "" {
					p.Errorf(hk, "%s: headers: bad header name %q", where, h)
				}
				s := p.Str(where+": headers: "+h, hv)
				if strings.ContainsAny(s, "\r\n") {
					p.Errorf(hv, "%s: headers: %s: a value may not hold a line break", where, h)
				}
				t.Headers[h] = s
			})
		case "body":
			bodyNode = val
			t.Body = p.Str(where+": body", val)
		case "command":
			t.Command = p.Command(where+": command", val)
		case "smtp":
			t.SMTP = p.Str(where+": smtp", val)
			if _, port, err := net.SplitHostPort(t.SMTP); t.SMTP != "" && (err != nil || port == "") {
				p.Errorf(val, "%s: smtp: expected HOST:PORT (mail.example.com:587)", where)
			}
		case "from":
			t.From = p.Str(where+": from", val)
		case "to":
			if val.Kind == yaml.ScalarNode {
				t.To = []string{p.Str(where+": to", val)}
			} else {
				t.To = p.Strs(where+": to", val)
			}
		case "username":
			t.Username = p.Str(where+": username", val)
		case "password":
			t.Password = p.Str(where+": password", val)
		case "password-file":
			file := p.AbsPath(where+": password-file", val)
			if file != "" {
				pw, err := readSecret(file)
				if err != nil {
					p.Errorf(val, "%s: password-file: %v", where, err)
				}
				t.Password = pw
			}
		case "subject":
			subjectNode = val
			t.Subject = p.Str(where+": subject", val)
		default:
			p.Errorf(kk, "%s: unknown key %q", where, key)
		}
	})
	for _, s := range []struct {
		n    *yaml.Node
		text string
	}{{bodyNode, t.Body}, {subjectNode, t.Subject}} {
		if s.n != nil {
			tpl, err := template.New(name).Funcs(Funcs).Option("missingkey=error").Parse(s.text)
			if err != nil {
				p.Errorf(s.n, "%s: bad template: %v", where, err)
			} else if s.n == bodyNode && strings.HasPrefix(strings.TrimSpace(s.text), "{") {
				if field := quotedField(tpl.Root); field != "" {
					p.Errorf(s.n, "%s: body: {{%s}} inside a JSON string is not escaped: a quote or a newline in it (a service's output) breaks the JSON or adds fields; write {{json %s}} in place of the whole string", where, field, field)
				}
			}
		}
	}
	need := func(ok bool, key, example string) {
		if !ok {
			p.Errorf(v, "%s: a %s target needs %s (%s)", where, t.Type, key, example)
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
			p.Errorf(v, "%s: command: %q must be an absolute path", where, t.Command[0])
		}
	case "email":
		need(t.SMTP != "", "smtp", "smtp: mail.example.com:587")
		need(t.From != "", "from", "from: shepherd@example.com")
		need(len(t.To) > 0, "to", "to: [ops@example.com]")
		for _, a := range append([]string{t.From}, t.To...) {
			if strings.ContainsAny(a, "\r\n<>,") {
				p.Errorf(v, "%s: bad address %q", where, a)
			}
		}
	case "":
		if typeNode == nil {
			p.Errorf(v, "%s: no type (expected one of %s)", where, strings.Join(notifyTypes, ", "))
		}
		return t, false
	default:
		p.Errorf(typeNode, "%s: unknown type %q (expected one of %s)", where, t.Type, strings.Join(notifyTypes, ", "))
		return t, false
	}
	return t, true
}

func (p parser) notifyRules(v *yaml.Node, targets []alerting.TargetSettings) []alerting.Rule {
	if v.Kind != yaml.SequenceNode {
		p.Errorf(v, "notify: rules: expected a list, got %s", yamlnode.KindName(v))
		return nil
	}
	var rules []alerting.Rule
	for i, item := range v.Content {
		where := fmt.Sprintf("notify: rule %d", i+1)
		if item.Kind != yaml.MappingNode {
			p.Errorf(item, "%s: expected a mapping with 'on' and 'to', got %s", where, yamlnode.KindName(item))
			continue
		}
		var r alerting.Rule
		var toNode *yaml.Node
		p.EachKey(item, func(key string, k, val *yaml.Node) {
			list := func() []string {
				if val.Kind == yaml.ScalarNode {
					return []string{p.Str(where+": "+key, val)}
				}
				return p.Strs(where+": "+key, val)
			}
			switch key {
			case "on":
				for _, c := range list() {
					if !slices.Contains(alerting.Classes, alerting.Class(c)) {
						p.Errorf(val, "%s: on: unknown alert %q (expected %s)", where, c, alerting.ClassNames())
						continue
					}
					r.On = append(r.On, alerting.Class(c))
				}
			case "subjects", "services", "jobs":
				for _, s := range list() {
					if _, err := path.Match(s, ""); err != nil {
						p.Errorf(val, "%s: %s: bad pattern %q", where, key, s)
					}
					r.Subjects = append(r.Subjects, s)
				}
			case "to":
				toNode = val
				for _, name := range list() {
					if !slices.ContainsFunc(targets, func(t alerting.TargetSettings) bool { return t.Name == name }) {
						p.Errorf(val, "%s: to: no target %q in notify: targets", where, name)
						continue
					}
					r.To = append(r.To, name)
				}
			default:
				p.Errorf(k, "%s: unknown key %q (expected on, subjects, to)", where, key)
			}
		})
		if toNode == nil {
			p.Errorf(item, "%s: no 'to': which targets?", where)
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

type parser struct{ yamlnode.Parser }

// freeText are the alert's fields whose text comes from outside the
// configuration (a service's output, a name in an observation); the
// others are from closed sets or the owner's configuration.
var freeText = map[string]bool{".Message": true, ".Subject": true}

// quotedField finds, in a template of a JSON body, a field put inside a
// JSON string as it is, as in "{{.Message}}" or "{{.Subject}}: ...": the
// text that lands there is not escaped. It returns the field ("" when
// there is none). Branches of if, range and with are read in the order
// they are written, which is how a JSON body is laid out in practice.
func quotedField(list *parse.ListNode) string {
	inString := false
	var walk func(*parse.ListNode) string
	walk = func(list *parse.ListNode) string {
		if list == nil {
			return ""
		}
		for _, n := range list.Nodes {
			switch n := n.(type) {
			case *parse.TextNode:
				escaped := false
				for _, c := range n.Text {
					switch {
					case escaped:
						escaped = false
					case c == '\\' && inString:
						escaped = true
					case c == '"':
						inString = !inString
					}
				}
			case *parse.ActionNode:
				if !inString || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 1 {
					continue
				}
				if f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode); ok && freeText[f.String()] {
					return f.String()
				}
			case *parse.IfNode:
				if f := cmp.Or(walk(n.List), walk(n.ElseList)); f != "" {
					return f
				}
			case *parse.RangeNode:
				if f := cmp.Or(walk(n.List), walk(n.ElseList)); f != "" {
					return f
				}
			case *parse.WithNode:
				if f := cmp.Or(walk(n.List), walk(n.ElseList)); f != "" {
					return f
				}
			}
		}
		return ""
	}
	return walk(list)
}
