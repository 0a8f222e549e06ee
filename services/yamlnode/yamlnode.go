package yamlnode

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"go.yaml.in/yaml/v3"
)

// Parser reports problems of one file's nodes into Errs.
type Parser struct {
	File string
	Errs *services.ErrorList
}

// Pos is n's place in the file.
func (p Parser) Pos(n *yaml.Node) services.Pos {
	return services.Pos{File: p.File, Line: n.Line, Col: n.Column}
}

// Errorf reports a problem at n.
func (p Parser) Errorf(n *yaml.Node, format string, args ...any) {
	p.Errs.Add(p.Pos(n), format, args...)
}

// KindName says what n is, for an error: "a list", "nothing", its value.
func KindName(n *yaml.Node) string {
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

// EachKey calls f for every key of a mapping, reporting duplicate keys.
func (p Parser) EachKey(m *yaml.Node, f func(key string, k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.Errorf(k, "expected a key, got %s", KindName(k))
			continue
		}
		if seen[k.Value] {
			p.Errorf(k, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		f(k.Value, k, v)
	}
}

// Scalar says whether v is a value (not a list, mapping or nothing),
// reporting it as key's, wanted as want, if not.
func (p Parser) Scalar(key string, v *yaml.Node, want string) bool {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		p.Errorf(v, "%s: expected %s, got %s", key, want, KindName(v))
		return false
	}
	return true
}

// Str is key's string value.
func (p Parser) Str(key string, v *yaml.Node) string {
	if !p.Scalar(key, v, "a string") {
		return ""
	}
	return v.Value
}

// Strs is key's list of strings.
func (p Parser) Strs(key string, v *yaml.Node) []string {
	if v.Kind != yaml.SequenceNode {
		p.Errorf(v, "%s: expected a list of strings, got %s", key, KindName(v))
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		if s := p.Str(key, e); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Boolean is key's true or false.
func (p Parser) Boolean(key string, v *yaml.Node) bool {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		p.Errorf(v, "%s: expected true or false, got %s", key, KindName(v))
		return false
	}
	return v.Value == "true"
}

func (p Parser) Command(key string, v *yaml.Node) []string {
	if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		words, err := SplitWords(v.Value)
		if err != nil {
			p.Errorf(v, "%s: %v", key, err)
		}
		return words
	}
	return p.Strs(key, v)
}

// SplitWords splits a command line on blanks, honouring single and double
// quotes (no other shell syntax).
func SplitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// Integer is key's whole number.
func (p Parser) Integer(key string, v *yaml.Node) int {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!int" {
		p.Errorf(v, "%s: expected a whole number, got %s", key, KindName(v))
		return 0
	}
	i, err := strconv.Atoi(v.Value)
	if err != nil {
		p.Errorf(v, "%s: expected a whole number, got %q", key, v.Value)
	}
	return i
}

// AbsPath is key's absolute path.
func (p Parser) AbsPath(key string, v *yaml.Node) string {
	s := p.Str(key, v)
	if s != "" && !filepath.IsAbs(s) {
		p.Errorf(v, "%s: %q must be an absolute path", key, s)
	}
	return s
}

// Duration accepts Go durations ("100ms", "1h30m"), days ("30d") or a
// number of seconds.
func (p Parser) Duration(key string, v *yaml.Node) time.Duration {
	if !p.Scalar(key, v, "a duration") {
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
			p.Errorf(v, "bad duration %q for %s", v.Value, key)
			return 0
		}
		return time.Duration(f * float64(time.Second))
	}
	d, err := time.ParseDuration(v.Value)
	if err != nil || d < 0 {
		p.Errorf(v, "bad duration %q for %s (examples: 100ms, 5s, 2m)", v.Value, key)
		return 0
	}
	return d
}
