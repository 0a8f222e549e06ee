package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"unicode/utf8"

	"github.com/shepherd-go/shepherd/services"
)

// MaxEnvironmentFileSize bounds an environment file: it is read at every
// start, by the daemon, and may be written by someone less trusted than
// the configuration's author.
const MaxEnvironmentFileSize = 1 << 20

// EnvFileError is a problem in an environment file, at a line (0 when it
// is about the whole file).
type EnvFileError struct {
	File string
	Line int
	Msg  string
}

func (e *EnvFileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("environment-file %s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("environment-file %s:%d: %s", e.File, e.Line, e.Msg)
}

// EnvVar is one assignment of an environment file.
type EnvVar struct {
	Name, Value string
	Line        int
}

// ReadEnvironmentFiles reads files in order, as a start does: a later
// assignment overrides an earlier one, within a file and across them. A
// missing optional file is skipped; any other problem is an error
// (*EnvFileError) naming the file, and the line where there is one.
func ReadEnvironmentFiles(files []services.EnvironmentFile) (map[string]string, error) {
	env := map[string]string{}
	for _, f := range files {
		data, err := readEnvironmentFile(f.Path)
		if errors.Is(err, fs.ErrNotExist) && f.Optional {
			continue
		}
		if err != nil {
			return nil, &EnvFileError{File: f.Path, Msg: err.Error()}
		}
		vars, err := ParseEnvironmentFile(f.Path, data)
		if err != nil {
			return nil, err
		}
		for _, v := range vars {
			env[v.Name] = v.Value
		}
	}
	return env, nil
}

// readEnvironmentFile reads a regular file of at most
// MaxEnvironmentFileSize bytes. It is opened non-blocking, so that a FIFO
// put in its place cannot hold up the start, and then refused.
func readEnvironmentFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (a \"-\" before the path makes the file optional)", fs.ErrNotExist)
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%v)", st.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxEnvironmentFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxEnvironmentFileSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxEnvironmentFileSize)
	}
	return data, nil
}

// ParseEnvironmentFile parses data in the format of systemd's
// EnvironmentFile= (systemd.exec(5)), read from file:
//
//   - one KEY=VALUE assignment per line; blank lines, lines starting with
//     '#' or ';', and lines without '=' are ignored; whitespace around
//     the key and the value is dropped;
//   - an unquoted value keeps its inner whitespace; a backslash keeps the
//     next character as it is, and a backslash at the end of a line joins
//     the next line (the newline dropped);
//   - 'single quotes' keep everything up to the next single quote,
//     newlines included; "double quotes" too, except that a backslash
//     keeps a following " \ ` or $ alone, joins lines before a newline,
//     and is kept with any other character; quoted and unquoted parts
//     next to each other make one value;
//   - a comment ends at the end of its line, even after a backslash (as
//     in a shell, and systemd since 254).
//
// Stricter than systemd, because the file may be hostile or simply
// wrong, and a silent difference is worse than an error: a NUL byte,
// invalid UTF-8, a name that is not [A-Za-z_][A-Za-z0-9_]*, or a quote
// left open at the end of the file is an error (*EnvFileError) that names
// the line. A UTF-8 byte order mark at the start is skipped.
func ParseEnvironmentFile(file string, data []byte) ([]EnvVar, error) {
	fail := func(line int, format string, args ...any) ([]EnvVar, error) {
		return nil, &EnvFileError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > MaxEnvironmentFileSize {
		return fail(0, "larger than %d bytes", MaxEnvironmentFileSize)
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return fail(lineAt(data, i), "contains a NUL byte")
	}
	if !utf8.Valid(data) {
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n <= 1 {
				return fail(lineAt(data, i), "not valid UTF-8")
			}
			i += n
		}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))

	const (
		preKey = iota
		inKey
		preValue
		inValue
		valueEscape
		singleQuote
		doubleQuote
		doubleEscape
		comment
	)
	var (
		vars          []EnvVar
		key, value    []byte
		keyWS, valWS  = -1, -1 // where trailing whitespace began, or -1
		state         = preKey
		line, keyLine = 1, 0
		quoteLine     = 0
	)
	white := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	push := func() error {
		if keyWS >= 0 {
			key = key[:keyWS]
		}
		if !validEnvName(key) {
			return &EnvFileError{File: file, Line: keyLine, Msg: fmt.Sprintf("invalid variable name %q: a name is letters, digits and '_', not starting with a digit", key)}
		}
		vars = append(vars, EnvVar{Name: string(key), Value: string(value), Line: keyLine})
		key, value = key[:0], nil
		return nil
	}
	for _, c := range data {
		switch state {
		case preKey:
			switch {
			case c == '#' || c == ';':
				state = comment
			case c == '=':
				// An empty name: systemd would make '=' part of a
				// name and ignore the line; it is an error here.
				state, key, keyWS, keyLine = preValue, key[:0], -1, line
				value, valWS = []byte{}, -1
			case !white(c):
				state, key, keyWS, keyLine = inKey, append(key[:0], c), -1, line
			}
		case inKey:
			switch {
			case c == '\n':
				state = preKey // no '=': ignored, as systemd does
			case c == '=':
				state, value, valWS = preValue, []byte{}, -1
			default:
				if !white(c) {
					keyWS = -1
				} else if keyWS < 0 {
					keyWS = len(key)
				}
				key = append(key, c)
			}
		case preValue:
			switch {
			case c == '\n':
				if err := push(); err != nil {
					return nil, err
				}
				state = preKey
			case c == '\'':
				state, quoteLine = singleQuote, line
			case c == '"':
				state, quoteLine = doubleQuote, line
			case c == '\\':
				state = valueEscape
			case !white(c):
				state, valWS = inValue, -1
				value = append(value, c)
			}
		case inValue:
			switch {
			case c == '\n':
				if valWS >= 0 {
					value = value[:valWS]
				}
				if err := push(); err != nil {
					return nil, err
				}
				state = preKey
			case c == '\\':
				state, valWS = valueEscape, -1
			default:
				if !white(c) {
					valWS = -1
				} else if valWS < 0 {
					valWS = len(value)
				}
				value = append(value, c)
			}
		case valueEscape:
			state = inValue
			if c != '\n' {
				value = append(value, c)
			}
		case singleQuote:
			if c == '\'' {
				state = preValue
			} else {
				value = append(value, c)
			}
		case doubleQuote:
			switch c {
			case '"':
				state = preValue
			case '\\':
				state = doubleEscape
			default:
				value = append(value, c)
			}
		case doubleEscape:
			state = doubleQuote
			switch c {
			case '"', '\\', '`', '$':
				value = append(value, c)
			case '\n':
			default:
				value = append(value, '\\', c)
			}
		case comment:
			if c == '\n' {
				state = preKey
			}
		}
		if c == '\n' {
			line++
		}
	}
	switch state {
	case inValue:
		if valWS >= 0 {
			value = value[:valWS]
		}
		fallthrough
	case preValue, valueEscape:
		if err := push(); err != nil {
			return nil, err
		}
	case singleQuote, doubleQuote, doubleEscape:
		return fail(quoteLine, "the quote opened here is never closed")
	}
	return vars, nil
}

// validEnvName is systemd's env_name_is_valid: [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(name []byte) bool {
	if len(name) == 0 || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// lineAt is the 1-based line of byte i.
func lineAt(data []byte, i int) int { return bytes.Count(data[:i], []byte("\n")) + 1 }
