package systemd

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shepherd-go/shepherd/importer"
)

// MaxFileSize bounds a unit file or drop-in: systemd's own limit on a
// line is 1 MiB, and no unit comes near.
const MaxFileSize = 1 << 20

// entry is one Key=Value assignment, where it was written.
type entry struct {
	Section string
	Key     string
	Value   string
	Pos     importer.Pos
}

// parseUnit reads a unit file's syntax (systemd.syntax(7)): [Sections],
// Key=Value lines with blanks around both trimmed, comments (# and ;) on
// lines of their own, and lines continued by a final backslash (replaced
// by a space; comment lines inside a continuation are skipped). A line
// that is none of these is reported and skipped, as systemd does.
func parseUnit(file string, data []byte, r *importer.Result) []entry {
	if len(data) > MaxFileSize {
		r.Warn(importer.Pos{File: file, Line: 1}, "", file, "the file is %d bytes, more than the %d a unit file may be: not imported", len(data), MaxFileSize)
		return nil
	}
	if !utf8.Valid(data) {
		r.Warn(importer.Pos{File: file, Line: 1}, "", file, "the file is not valid UTF-8: not imported")
		return nil
	}
	lines := strings.Split(string(data), "\n")
	var out []entry
	section := ""
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		// Continuation lines.
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			line = strings.TrimSuffix(line, `\`) + " "
			i++
			next := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
			if next != "" && (next[0] == '#' || next[0] == ';') {
				line += `\` // a comment inside a continuation: skipped
				continue
			}
			line += next
		}
		line = strings.TrimSpace(strings.TrimSuffix(line, `\`))
		if line == "" {
			continue // a lone backslash continued nothing
		}
		pos := importer.Pos{File: file, Line: lineNo}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				r.Warn(pos, "", line, "not a section header: skipped, as systemd does")
				continue
			}
			section = line[1 : len(line)-1]
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			r.Warn(pos, "", line, "not a Key=Value assignment: skipped, as systemd does")
			continue
		}
		if section == "" {
			r.Warn(pos, "", strings.TrimSpace(key), "an assignment before the first [Section]: skipped, as systemd does")
			continue
		}
		out = append(out, entry{Section: section, Key: strings.TrimSpace(key), Value: strings.TrimSpace(value), Pos: pos})
	}
	return out
}

// unitName is a unit's name split up: redis-server@main.service is
// prefix redis-server, instance main, type service.
type unitName struct {
	Full     string // redis-server@main.service
	Prefix   string // redis-server
	Instance string // main ("" for a template or a plain unit)
	Template bool   // the name has an @
	Type     string // service, target, socket, ...
}

func parseUnitName(name string) (unitName, bool) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || dot == len(name)-1 {
		return unitName{}, false
	}
	u := unitName{Full: name, Type: name[dot+1:]}
	stem := name[:dot]
	if p, inst, ok := strings.Cut(stem, "@"); ok {
		u.Prefix, u.Instance, u.Template = p, inst, true
	} else {
		u.Prefix = stem
	}
	return u, u.Prefix != ""
}

// Stem is the name without the type: our service's name.
func (u unitName) Stem() string {
	if u.Template {
		return u.Prefix + "@" + u.Instance
	}
	return u.Prefix
}

// unescape undoes systemd's escaping of unit names (systemd-escape): "-"
// is "/", and \xNN a byte.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '-':
			b.WriteByte('/')
		case s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x':
			if v, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// specifiers expands the %-specifiers of systemd.unit(5) that a unit file
// alone determines, for a system unit: the unit's name parts and the
// system's directories. The others depend on the machine or the manager
// that would run it (%H, %m, %u, ...): they are left as written, and
// each is reported once per directive.
type specifiers struct {
	name unitName
	path string // the unit file: %y, %Y
}

func (sp specifiers) expand(s string, pos importer.Pos, service, directive string, r *importer.Result) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	warned := map[byte]bool{}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		c := s[i]
		v, ok := sp.value(c)
		if ok {
			b.WriteString(v)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(c)
		if !warned[c] {
			warned[c] = true
			if c == 'i' || c == 'I' {
				r.Warn(pos, service, directive, "%%%c is the instance of a template unit, and %s has none: left as written (import %s@NAME.%s to give it one)", c, sp.name.Full, sp.name.Prefix, sp.name.Type)
			} else if why, known := unresolved(c); known {
				r.Warn(pos, service, directive, "%%%c (%s) depends on the machine or manager that runs the unit: left as written", c, why)
			} else {
				r.Warn(pos, service, directive, "%%%c is not a systemd specifier: left as written", c)
			}
		}
	}
	return b.String()
}

// unresolved names the specifiers that depend on the machine or the
// manager.
func unresolved(c byte) (string, bool) {
	const names = "a architecture|A OS image version|b boot ID|B OS build ID|d credentials directory|D shared data directory|" +
		"g manager's group|G manager's GID|h user's home|H host name|l short host name|m machine ID|M OS image ID|o OS ID|" +
		"q pretty host name|s user's shell|u user name|U UID|v kernel release|w OS version ID|W OS variant ID"
	for _, e := range strings.Split(names, "|") {
		if e[0] == c {
			return e[2:], true
		}
	}
	return "", false
}

func (sp specifiers) value(c byte) (string, bool) {
	n := sp.name
	switch c {
	case '%':
		return "%", true
	case 'n':
		return n.Full, true
	case 'N':
		return n.Stem(), true
	case 'p':
		return n.Prefix, true
	case 'P':
		return unescape(n.Prefix), true
	case 'i': // empty for a unit that is not a template
		return n.Instance, n.Instance != "" || !n.Template
	case 'I':
		return unescape(n.Instance), n.Instance != "" || !n.Template
	case 'j':
		return n.Prefix[strings.LastIndexByte(n.Prefix, '-')+1:], true
	case 'J':
		p := n.Prefix[strings.LastIndexByte(n.Prefix, '-')+1:]
		return unescape(p), true
	case 'f':
		if n.Instance != "" {
			return "/" + strings.TrimPrefix(unescape(n.Instance), "/"), true
		}
		return "/" + strings.TrimPrefix(unescape(n.Prefix), "/"), true
	case 'y':
		return sp.path, sp.path != ""
	case 'Y':
		if i := strings.LastIndexByte(sp.path, '/'); i > 0 {
			return sp.path[:i], true
		}
		return "", false
	case 't':
		return "/run", true
	case 'S':
		return "/var/lib", true
	case 'C':
		return "/var/cache", true
	case 'L':
		return "/var/log", true
	case 'E':
		return "/etc", true
	case 'T':
		return "/tmp", true
	case 'V':
		return "/var/tmp", true
	}
	return "", false
}

// splitWords splits a value into words as systemd does for command lines
// and lists (extract_first_word with unquoting and C escapes): blanks
// separate words; single and double quotes group, anywhere in a word;
// \a \b \f \n \r \t \v \\ \" \' \s \xNN \NNN \uNNNN \UNNNNNNNN are
// escapes, in quotes or not.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("a backslash ends the line")
			}
			n, err := cescape(s[i+1:], &cur)
			if err != nil {
				return nil, err
			}
			i += n
			inWord = true
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
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

// cescape decodes the escape at the start of s (after the backslash) into
// b and returns how many bytes of s it took.
func cescape(s string, b *strings.Builder) (int, error) {
	simple := map[byte]byte{'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\\': '\\', '"': '"', '\'': '\'', 's': ' '}
	if v, ok := simple[s[0]]; ok {
		b.WriteByte(v)
		return 1, nil
	}
	code := func(digits, base int) (int, error) {
		if len(s) < 1+digits {
			return 0, fmt.Errorf("escape \\%s is cut short", s)
		}
		v, err := strconv.ParseUint(s[1:1+digits], base, 32)
		if err != nil || v == 0 || !utf8.ValidRune(rune(v)) {
			return 0, fmt.Errorf("bad escape \\%s", s[:1+digits])
		}
		if digits == 2 && base == 16 || base == 8 {
			b.WriteByte(byte(v))
		} else {
			b.WriteRune(rune(v))
		}
		return 1 + digits, nil
	}
	switch s[0] {
	case 'x':
		return code(2, 16)
	case 'u':
		return code(4, 16)
	case 'U':
		return code(8, 16)
	case '0', '1', '2', '3':
		if len(s) < 3 {
			return 0, fmt.Errorf("escape \\%s is cut short", s)
		}
		v, err := strconv.ParseUint(s[:3], 8, 8)
		if err != nil || v == 0 {
			return 0, fmt.Errorf("bad escape \\%s", s[:3])
		}
		b.WriteByte(byte(v))
		return 3, nil
	}
	return 0, fmt.Errorf("unknown escape \\%c", s[0])
}

// parseBool reads systemd's booleans.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return true, true
	case "0", "no", "n", "false", "f", "off":
		return false, true
	}
	return false, false
}

// parseTimespan reads systemd.time(7) time spans: "5", "5s", "1min 30s",
// "100ms", "2h". infinite is true for "infinity".
func parseTimespan(s string) (d time.Duration, infinite bool, err error) {
	s = strings.TrimSpace(s)
	if s == "infinity" {
		return 0, true, nil
	}
	if s == "" {
		return 0, false, fmt.Errorf("empty time span")
	}
	units := []struct {
		names []string
		d     time.Duration
	}{
		{[]string{"usec", "us", "µs", "μs"}, time.Microsecond},
		{[]string{"msec", "ms"}, time.Millisecond},
		{[]string{"seconds", "second", "sec", "s"}, time.Second},
		{[]string{"minutes", "minute", "min", "m"}, time.Minute},
		{[]string{"hours", "hour", "hr", "h"}, time.Hour},
		{[]string{"days", "day", "d"}, 24 * time.Hour},
		{[]string{"weeks", "week", "w"}, 7 * 24 * time.Hour},
		{[]string{"months", "month", "M"}, 2629800 * time.Second},
		{[]string{"years", "year", "y"}, 31557600 * time.Second},
	}
	rest := s
	var total float64
	for rest != "" {
		rest = strings.TrimLeft(rest, " \t")
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 {
			return 0, false, fmt.Errorf("%q is not a time span such as 5s or 1min 30s", s)
		}
		n, perr := strconv.ParseFloat(rest[:i], 64)
		if perr != nil {
			return 0, false, fmt.Errorf("%q is not a time span such as 5s or 1min 30s", s)
		}
		rest = strings.TrimLeft(rest[i:], " \t")
		j := 0
		for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9') && rest[j] != ' ' && rest[j] != '\t' {
			j++
		}
		unit := rest[:j]
		rest = rest[j:]
		mult := time.Second
		if unit != "" {
			found := false
			for _, u := range units {
				for _, name := range u.names {
					if unit == name {
						mult, found = u.d, true
					}
				}
			}
			if !found {
				return 0, false, fmt.Errorf("%q: unknown unit %q of a time span", s, unit)
			}
		}
		total += n * float64(mult)
	}
	if total > float64(1<<62) {
		return 0, false, fmt.Errorf("%q is too long a time span", s)
	}
	return time.Duration(total), false, nil
}
