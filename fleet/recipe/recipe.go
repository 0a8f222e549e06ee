package recipe

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/config"
	"go.yaml.in/yaml/v3"
)

// Recipe is a named list of steps run on the selected hosts, one step on
// every host at a time, with parameters.
//
//	description: restart a service and show why if it fails
//	params:
//	  service: {description: the service, required: true}
//	  lines: {description: log lines to show, default: "20"}
//	steps:
//	  - systemctl restart {{.service}}
//	  - run: journalctl -u {{.service}} -n {{.lines}}
//	    when: failed
//	  - "@changed systemctl status {{.service}}"
type Recipe struct {
	Name        string
	Description string
	Params      []Param
	Steps       []Step
	Pos         services.Pos
}

// Param is one of a recipe's parameters.
type Param struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Default     string `json:"default,omitempty"`
	Required    bool   `json:"required"`
}

// When says on which hosts a step runs.
type When string

const (
	// Always: every host that has not failed a step yet (the default:
	// a host stops at its first failure).
	Always When = ""
	// Failed: the hosts that failed the step before, and only them.
	Failed When = "failed"
	// Changed: the hosts that ran the step before and whose answer to
	// it differs from the last recorded run of the same command.
	Changed When = "changed"
)

// Step is one command line (a Go template, split into words after it is
// rendered, quotes honoured) and when it runs.
type Step struct {
	Run  string `json:"run"`
	When When   `json:"when,omitempty"`
	Line int    `json:"line"`
	tmpl *template.Template
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reserved are the names a template gets from the host and the run.
var reserved = []string{"Host", "Group", "Timestamp"}

// Load reads every *.yaml of dir (a recipe each, named by its
// file); a missing dir is no recipe.
func Load(dir string) ([]*Recipe, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*Recipe
	var errs services.ErrorList
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("recipe: %w", err)
		}
		r, err := Parse(f, strings.TrimSuffix(filepath.Base(f), ".yaml"), b)
		if err != nil {
			errs = append(errs, asErrorList(err)...)
			continue
		}
		out = append(out, r)
	}
	return out, errs.Err()
}

// Parse parses one recipe file; file names it in errors, which
// are a services.ErrorList of file:line:col.
func Parse(file, name string, data []byte) (*Recipe, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if len(doc.Content) == 0 {
		return nil, services.ErrorList{{Pos: services.Pos{File: file, Line: 1, Col: 1}, Msg: "recipe " + name + ": empty (expected steps:)"}}
	}
	var errs services.ErrorList
	r := parseRecipe(file, name, doc.Content[0], &errs)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return r, nil
}

// ParseSection parses an inventory's recipes: section (its
// RecipeSection), a mapping of names to recipes; nil n: none.
func ParseSection(file string, n *yaml.Node) ([]*Recipe, error) {
	if n == nil {
		return nil, nil
	}
	var errs services.ErrorList
	if n.Kind != yaml.MappingNode {
		errs.Add(services.Pos{File: file, Line: n.Line, Col: n.Column}, "recipes: expected a mapping of recipe names to recipes")
		return nil, errs.Err()
	}
	var out []*Recipe
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !paramName.MatchString(strings.ReplaceAll(k.Value, "-", "_")) {
			errs.Add(services.Pos{File: file, Line: k.Line, Col: k.Column}, "recipe name %q: use letters, digits, '_' and '-'", k.Value)
			continue
		}
		out = append(out, parseRecipe(file, k.Value, v, &errs))
	}
	return out, errs.Err()
}

func parseRecipe(file, name string, n *yaml.Node, errs *services.ErrorList) *Recipe {
	pos := func(n *yaml.Node) services.Pos { return services.Pos{File: file, Line: n.Line, Col: n.Column} }
	add := func(n *yaml.Node, format string, args ...any) {
		errs.Add(pos(n), "%s", "recipe "+name+": "+fmt.Sprintf(format, args...))
	}
	r := &Recipe{Name: name, Pos: pos(n)}
	if n.Kind != yaml.MappingNode {
		add(n, "expected a mapping with description, params and steps")
		return r
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "description":
			r.Description = v.Value
		case "params":
			if v.Kind != yaml.MappingNode {
				add(v, "params: expected a mapping of names to {description, default, required}")
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				pk, pv := v.Content[j], v.Content[j+1]
				p := Param{Name: pk.Value}
				switch {
				case !paramName.MatchString(p.Name):
					add(pk, "param %q: use letters, digits and '_' (templates say {{.%s}})", p.Name, p.Name)
				case slices.Contains(reserved, p.Name):
					add(pk, "param %s: the name is the template's own (%s)", p.Name, strings.Join(reserved, ", "))
				}
				switch pv.Kind {
				case yaml.ScalarNode: // name: its description
					p.Description = pv.Value
				case yaml.MappingNode:
					for m := 0; m+1 < len(pv.Content); m += 2 {
						fk, fv := pv.Content[m], pv.Content[m+1]
						switch fk.Value {
						case "description":
							p.Description = fv.Value
						case "default":
							if fv.Kind != yaml.ScalarNode {
								add(fv, "param %s: default: expected a single value", p.Name)
							}
							p.Default = fv.Value
						case "required":
							b, err := strconv.ParseBool(fv.Value)
							if err != nil {
								add(fv, "param %s: required: expected true or false", p.Name)
							}
							p.Required = b
						default:
							add(fk, "param %s: unknown key %q (expected description, default, required)", p.Name, fk.Value)
						}
					}
				default:
					add(pv, "param %s: expected a description or {description, default, required}", p.Name)
				}
				if p.Required && p.Default != "" {
					add(pk, "param %s: required and with a default: choose one", p.Name)
				}
				r.Params = append(r.Params, p)
			}
		case "steps":
			if v.Kind != yaml.SequenceNode {
				add(v, "steps: expected a list of command lines or {run, when}")
				continue
			}
			for _, sn := range v.Content {
				s := Step{Line: sn.Line}
				switch sn.Kind {
				case yaml.ScalarNode:
					s.Run = sn.Value
				case yaml.MappingNode:
					for m := 0; m+1 < len(sn.Content); m += 2 {
						fk, fv := sn.Content[m], sn.Content[m+1]
						switch fk.Value {
						case "run":
							s.Run = fv.Value
						case "when":
							switch When(fv.Value) {
							case Failed, Changed:
								s.When = When(fv.Value)
							case "always":
							default:
								add(fv, "step: when: %q: expected failed, changed or always", fv.Value)
							}
						default:
							add(fk, "step: unknown key %q (expected run, when)", fk.Value)
						}
					}
				default:
					add(sn, "step: expected a command line or {run, when}")
					continue
				}
				// "@failed CMD" and "@changed CMD" are when: failed
				// and when: changed.
				for _, w := range []When{Failed, Changed} {
					if rest, ok := strings.CutPrefix(s.Run, "@"+string(w)+" "); ok {
						s.Run, s.When = strings.TrimSpace(rest), w
					}
				}
				if strings.TrimSpace(s.Run) == "" {
					add(sn, "step: run: a command line is required")
					continue
				}
				t, err := template.New(fmt.Sprintf("%s:%d", file, sn.Line)).Option("missingkey=error").Parse(s.Run)
				if err != nil {
					add(sn, "step: %v", err)
					continue
				}
				s.tmpl = t
				r.Steps = append(r.Steps, s)
			}
		default:
			add(k, "unknown key %q (expected description, params, steps)", k.Value)
		}
	}
	if len(r.Steps) == 0 && errs.Err() == nil {
		add(n, "no steps")
	}
	if len(r.Steps) > 0 && r.Steps[0].When != Always {
		add(n, "the first step runs on every host: it cannot be when: %s", r.Steps[0].When)
	}
	return r
}

// Bind checks the values given with --set against the recipe's params
// and fills in the defaults: an unknown name or a missing required value
// is an error that says what to give.
func (r *Recipe) Bind(set map[string]string) (map[string]string, error) {
	vals := map[string]string{}
	for k, v := range set {
		if !slices.ContainsFunc(r.Params, func(p Param) bool { return p.Name == k }) {
			var names []string
			for _, p := range r.Params {
				names = append(names, p.Name)
			}
			if len(names) == 0 {
				return nil, fmt.Errorf("recipe %s (%s) takes no param; --set %s is unknown", r.Name, r.where(), k)
			}
			return nil, fmt.Errorf("recipe %s (%s) has no param %s (params: %s)", r.Name, r.where(), k, strings.Join(names, ", "))
		}
		vals[k] = v
	}
	var missing []string
	for _, p := range r.Params {
		if _, ok := vals[p.Name]; ok {
			continue
		}
		if p.Required {
			missing = append(missing, p.Name)
			continue
		}
		vals[p.Name] = p.Default
	}
	if len(missing) > 0 {
		var sets []string
		for _, m := range missing {
			sets = append(sets, "--set "+m+"=VALUE")
		}
		return nil, fmt.Errorf("recipe %s (%s) needs %s: give %s", r.Name, r.where(), strings.Join(missing, ", "), strings.Join(sets, " "))
	}
	return vals, nil
}

// Render is step i's command for host h: the template with the params,
// .Host, .Group (the host's first group, else its role tag) and
// .Timestamp (the run's, UTC, 20060102-150405), split into words.
func (r *Recipe) Render(i int, params map[string]string, h *fleet.Host, now time.Time) ([]string, error) {
	s := r.Steps[i]
	data := map[string]any{}
	for k, v := range params {
		data[k] = v
	}
	group := h.Tags["role"]
	if len(h.Groups) > 0 {
		group = h.Groups[0]
	}
	data["Host"], data["Group"], data["Timestamp"] = h.Name, group, now.UTC().Format("20060102-150405")
	var b bytes.Buffer
	if err := s.tmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("recipe %s, step %d (%s:%d): %v", r.Name, i+1, r.Pos.File, s.Line, err)
	}
	argv, err := config.SplitWords(b.String())
	if err == nil && len(argv) == 0 {
		err = fmt.Errorf("empty command")
	}
	if err != nil {
		return nil, fmt.Errorf("recipe %s, step %d (%s:%d): %q: %v", r.Name, i+1, r.Pos.File, s.Line, b.String(), err)
	}
	return argv, nil
}

// StepHosts decides which hosts run a step. failed holds the hosts that
// have failed a step so far (they stop there), lastFailed those that
// failed the step before this one, changed those whose answer to the step
// before differs from its last recorded run.
func StepHosts(w When, hosts []*fleet.Host, failed, lastFailed, changed map[string]bool) []*fleet.Host {
	var out []*fleet.Host
	for _, h := range hosts {
		var run bool
		switch w {
		case Failed:
			run = lastFailed[h.Name]
		case Changed:
			run = changed[h.Name] && !failed[h.Name]
		default:
			run = !failed[h.Name]
		}
		if run {
			out = append(out, h)
		}
	}
	return out
}

func yamlError(file string, err error) error {
	msg, line := err.Error(), 1
	if m := regexp.MustCompile(`line (\d+): (.*)`).FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return services.ErrorList{{Pos: services.Pos{File: file, Line: line, Col: 1}, Msg: msg}}
}

func asErrorList(err error) services.ErrorList {
	if l, ok := err.(services.ErrorList); ok {
		return l
	}
	return services.ErrorList{{Msg: err.Error()}}
}

// where is the recipe's file:line.
func (r *Recipe) where() string { return fmt.Sprintf("%s:%d", r.Pos.File, r.Pos.Line) }
