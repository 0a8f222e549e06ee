package supervisord

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shepherd-go/shepherd/importer"
)

// MaxFileSize bounds a configuration file.
const MaxFileSize = 4 << 20

// section is one [section] of the file with its options, in order.
type section struct {
	Name    string
	Pos     importer.Pos
	Options []*option
}

type option struct {
	Key   string // lower case, as ConfigParser folds it
	Value string
	Pos   importer.Pos
	used  bool
}

func (s *section) get(key string) (*option, bool) {
	for i := len(s.Options) - 1; i >= 0; i-- {
		if o := s.Options[i]; o.Key == key {
			o.used = true
			return o, true
		}
	}
	return nil, false
}

// parseINI reads the file as supervisord's parser (Python's
// RawConfigParser, with ';' and '#' comments inline after a blank, and
// later duplicates overriding earlier ones) does: [sections], "key =
// value" or "key: value" options, lines indented under an option
// continuing its value.
func parseINI(file string, data []byte, r *importer.Result) ([]*section, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: the file is %d bytes, more than the %d a configuration may be", file, len(data), MaxFileSize)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%s: the file is not valid UTF-8", file)
	}
	var out []*section
	var cur *section
	var last *option
	lastIndent := 0
	for i, raw := range strings.Split(string(data), "\n") {
		pos := importer.Pos{File: file, Line: i + 1}
		line := strings.TrimRight(strings.TrimSuffix(raw, "\r"), " \t")
		trimmed := strings.TrimLeft(line, " \t")
		indent := len(line) - len(trimmed)
		if trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		trimmed = stripInlineComment(trimmed)
		if last != nil && indent > lastIndent {
			last.Value += "\n" + trimmed
			continue
		}
		if trimmed[0] == '[' && strings.HasSuffix(trimmed, "]") && len(trimmed) > 2 {
			name := trimmed[1 : len(trimmed)-1]
			cur = nil
			for _, s := range out {
				if s.Name == name {
					cur = s // a second [name] adds to the first (strict=False)
				}
			}
			if cur == nil {
				cur = &section{Name: name, Pos: pos}
				out = append(out, cur)
			}
			last = nil
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("%s:%d: an option before the first [section]: %s", file, pos.Line, trimmed)
		}
		eq := strings.IndexAny(trimmed, "=:")
		if eq <= 0 {
			return nil, fmt.Errorf("%s:%d: not an option \"key = value\": %s", file, pos.Line, trimmed)
		}
		last = &option{Key: strings.ToLower(strings.TrimSpace(trimmed[:eq])), Value: strings.TrimSpace(trimmed[eq+1:]), Pos: pos}
		lastIndent = indent
		cur.Options = append(cur.Options, last)
	}
	return out, nil
}

// stripInlineComment cuts a comment that starts with ';' or '#' after a
// blank.
func stripInlineComment(s string) string {
	for i := 1; i < len(s); i++ {
		if (s[i] == ';' || s[i] == '#') && (s[i-1] == ' ' || s[i-1] == '\t') {
			return strings.TrimRight(s[:i], " \t")
		}
	}
	return s
}

// expand substitutes supervisord's %(name)s expressions (Python's %
// formatting with a mapping): %% is %, a name not in vars is an error.
// It reports the names used.
func expand(s string, vars func(string) (string, bool)) (string, []string, error) {
	if !strings.Contains(s, "%") {
		return s, nil, nil
	}
	var b strings.Builder
	var used []string
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		if i+1 == len(s) || s[i+1] != '(' {
			return "", nil, fmt.Errorf("%q: a %% that is not %%(name)s or %%%%", s)
		}
		end := strings.IndexByte(s[i:], ')')
		if end < 0 {
			return "", nil, fmt.Errorf("%q: %%( is not closed", s)
		}
		name := s[i+2 : i+end]
		j := i + end + 1
		// Flags, width and precision, then the conversion.
		specStart := j
		for j < len(s) && strings.IndexByte("#0- +", s[j]) >= 0 {
			j++
		}
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
			j++
		}
		if j == len(s) {
			return "", nil, fmt.Errorf("%q: %%(%s) has no conversion such as s or d", s, name)
		}
		spec, conv := s[specStart:j], s[j]
		if len(spec) > 4 {
			return "", nil, fmt.Errorf("%q: %%(%s)%s%c: a width or precision of more than 3 digits", s, name, spec, conv)
		}
		val, ok := vars(name)
		if !ok {
			return "", nil, fmt.Errorf("%q: %%(%s)%c names nothing supervisord knows", s, name, conv)
		}
		used = append(used, name)
		formatted, err := format(val, spec, conv)
		if err != nil {
			return "", nil, fmt.Errorf("%q: %%(%s)%s%c: %v", s, name, spec, conv, err)
		}
		b.WriteString(formatted)
		i = j
	}
	return b.String(), used, nil
}

// format applies a Python % conversion to val.
func format(val, spec string, conv byte) (string, error) {
	switch conv {
	case 's', 'r':
		return fmt.Sprintf("%"+spec+"s", val), nil
	case 'd', 'i', 'x', 'X', 'o':
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return "", fmt.Errorf("%q is not a number", val)
		}
		if conv == 'i' {
			conv = 'd'
		}
		return fmt.Sprintf("%"+spec+string(conv), n), nil
	}
	return "", fmt.Errorf("conversion %c is not supported", conv)
}

// splitCommand splits a command as supervisord does (Python's
// shlex.split): blanks separate words; '...' is literal; "..." groups,
// a backslash in it escaping only " and \; a backslash outside quotes
// escapes the next character.
func splitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("no character after the last backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("no closing quotation")
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, fmt.Errorf("no closing quotation")
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// parseEnvironment reads environment=KEY="value",KEY2=value2: commas
// separate pairs except in quotes, which are removed.
func parseEnvironment(s string) ([]importer.EnvVar, error) {
	var out []importer.EnvVar
	var parts []string
	var cur strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
			cur.WriteByte(c)
		case c == '"' || c == '\'':
			quote = c
			cur.WriteByte(c)
		case c == ',':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	parts = append(parts, cur.String())
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t\"'") {
			return nil, fmt.Errorf("%q is not KEY=value", p)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out = append(out, importer.EnvVar{Name: k, Value: v})
	}
	return out, nil
}

// byteSize reads supervisord's sizes: 1024, 50KB, 1MB, 1GB (of 1024).
func byteSize(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, x := range []struct {
		suffix string
		mult   int64
	}{{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}} {
		if n, ok := strings.CutSuffix(u, x.suffix); ok {
			u, mult = n, x.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(u), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size such as 50MB", s)
	}
	return n * mult, nil
}

// parseBool reads supervisord's booleans.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}
