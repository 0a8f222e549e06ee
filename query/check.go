package query

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNotSelect is wrapped by Check's errors.
var ErrNotSelect = errors.New("query: only one SELECT statement is allowed")

// Check refuses what is not one SELECT (or WITH ... SELECT) statement. It
// is the first of three guards: the authorizer allows only reads, and the
// connection is query_only; Check gives the clear message.
func Check(sql string) error {
	s := strings.TrimSpace(stripComments(sql))
	s = strings.TrimRight(s, "; \t\r\n")
	if s == "" {
		return fmt.Errorf("%w: the query is empty", ErrNotSelect)
	}
	word := strings.ToUpper(firstWord(s))
	if word != "SELECT" && word != "WITH" && word != "VALUES" {
		return fmt.Errorf("%w: it begins with %s; the tables are read-only", ErrNotSelect, word)
	}
	if hasSemicolon(s) {
		return fmt.Errorf("%w: found more than one statement (a ';' inside the query)", ErrNotSelect)
	}
	return nil
}

func firstWord(s string) string {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return s[:i]
		}
	}
	return s
}

// stripComments removes -- and /* */ comments outside string literals.
func stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(s) && s[j] != c {
				j++
			}
			b.WriteString(s[i:min(j+1, len(s))])
			i = j
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			b.WriteByte(' ')
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				i = len(s)
			} else {
				i += j + 3
			}
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// hasSemicolon says whether s has a ';' outside string literals.
func hasSemicolon(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' || c == '"' || c == '`' {
			j := i + 1
			for j < len(s) && s[j] != c {
				j++
			}
			i = j
			continue
		}
		if c == ';' {
			return true
		}
	}
	return false
}
