package services

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ConfigError is one problem in a configuration, at a position.
type ConfigError struct {
	Pos Pos
	Msg string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Pos.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// ErrorList is every problem found in a configuration: validation never
// stops at the first.
type ErrorList []*ConfigError

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the errors by file, line and column.
func (l ErrorList) Sort() {
	slices.SortStableFunc(l, func(a, b *ConfigError) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
}

// Err returns nil for an empty list, else the sorted list.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

// Add appends a problem at p.
func (l *ErrorList) Add(p Pos, format string, args ...any) {
	*l = append(*l, &ConfigError{Pos: p, Msg: fmt.Sprintf(format, args...)})
}
