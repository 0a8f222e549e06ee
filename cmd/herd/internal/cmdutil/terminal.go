package cmdutil

import (
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Text that herd prints comes largely from elsewhere: a service's output
// (herd log, the recent lines of herd status), a daemon's or a peer's
// error messages, commands run on other hosts. On a terminal, a control
// character in it is an instruction to the terminal: ESC ] 0 ; ... BEL
// retitles the window, ESC [ 2 J clears the screen, and some terminals
// answer queries by typing into the shell. So when a stream is a
// terminal, herd shows every control character escaped: C0 controls but
// tab and newline, DEL and invalid UTF-8 bytes as \xHH, C1 controls
// (U+0080 to U+009F) as \u00HH. What goes to a pipe or a file is left as
// it is (a script or `herd log NAME > file` gets the service's bytes).
// --json output keeps its meaning: JSON escapes C0 controls itself, and on
// a terminal DEL and C1 controls, which JSON allows raw, are written as
// JSON escapes (\u007f), invalid UTF-8 as \ufffd.

// terminalWriter escapes control characters on their way to a terminal.
// Callers write whole strings: a UTF-8 character cut across two writes
// would show as two escaped bytes.
type terminalWriter struct {
	w io.Writer
	// json, when it points to true, says the output is JSON, escaped
	// the JSON way. It is read at each write since the flag is parsed
	// after the streams are set up.
	json *bool
}

func (t *terminalWriter) Write(p []byte) (int, error) {
	escape := EscapeControls
	if t.json != nil && *t.json {
		escape = escapeJSONControls
	}
	if _, err := t.w.Write(escape(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// GuardTerminals wraps the output streams that are terminals (as
// f.IsTerminal says, by default a TCGETS ioctl) in a terminalWriter. Only
// stdout's --json output is passed through; stderr carries error text.
func (f *Factory) GuardTerminals() {
	isTerm := f.IsTerminal
	if isTerm == nil {
		isTerm = ttyFile
	}
	if _, done := f.Out.(*terminalWriter); !done && f.Out != nil && isTerm(f.Out) {
		f.Out = &terminalWriter{w: f.Out, json: &f.JSON}
	}
	if _, done := f.Err.(*terminalWriter); !done && f.Err != nil && isTerm(f.Err) {
		f.Err = &terminalWriter{w: f.Err}
	}
}

// ttyFile reports whether w is a file open on a terminal.
func ttyFile(w io.Writer) bool {
	file, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(file.Fd()), unix.TCGETS)
	return err == nil
}

// IsTerminal reports whether w goes to a terminal.
func IsTerminal(w io.Writer) bool {
	if _, ok := w.(*terminalWriter); ok {
		return true
	}
	return ttyFile(w)
}

// RawWriter is the stream under a terminalWriter, for herd's own control
// sequences (the progress line of fleet exec).
func RawWriter(w io.Writer) io.Writer {
	if t, ok := w.(*terminalWriter); ok {
		return t.w
	}
	return w
}

// EscapeControls returns p with control characters and invalid UTF-8
// escaped (see terminalWriter); p itself when there is none.
func EscapeControls(p []byte) []byte {
	hex := func(out []byte, c byte) []byte { return fmt.Appendf(out, `\x%02x`, c) }
	return escapeWith(p, hex, hex)
}

// escapeJSONControls escapes, in JSON text, what JSON leaves raw but a
// terminal acts on: DEL and C1 controls become \u escapes and invalid
// UTF-8 bytes \ufffd. They can only be inside strings (JSON outside its
// strings is ASCII), where these escapes mean the same characters; C0
// controls cannot be raw in JSON at all.
func escapeJSONControls(p []byte) []byte {
	return escapeWith(p,
		func(out []byte, c byte) []byte {
			// A carriage return may be JSON whitespace; no other C0
			// control can be raw in JSON, but a hostile one is escaped.
			if c == '\r' {
				return append(out, c)
			}
			return fmt.Appendf(out, `\u%04x`, c)
		},
		func(out []byte, _ byte) []byte { return append(out, `\ufffd`...) })
}

// escapeWith copies p with its C0 controls written by c0, its invalid
// UTF-8 bytes by bad and its C1 controls as \u escapes; p itself when it
// has none of them.
func escapeWith(p []byte, c0, bad func(out []byte, c byte) []byte) []byte {
	i := firstControl(p)
	if i < 0 {
		return p
	}
	out := make([]byte, 0, len(p)+16)
	out = append(out, p[:i]...)
	for i < len(p) {
		c := p[i]
		if c < utf8.RuneSelf {
			if isC0(c) {
				out = c0(out, c)
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(p[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = bad(out, c)
		case isC1(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, p[i:i+n]...)
		}
		i += n
	}
	return out
}

// firstControl is the index of the first byte EscapeControls changes, or
// -1.
func firstControl(p []byte) int {
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			if isC0(c) {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n == 1 || isC1(r) {
			return i
		}
		i += n
	}
	return -1
}

// isC0 reports an ASCII control character other than tab and newline, or
// DEL.
func isC0(c byte) bool { return (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f }

func isC1(r rune) bool { return r >= 0x80 && r <= 0x9f }
