package cmdutil

import "testing"

func TestEscapeControls(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, tab\tand newline\n": "plain text, tab\tand newline\n",
		"\x1b]0;pwned\x07":               `\x1b]0;pwned\x07`,
		"\x1b[2Jcleared":                 `\x1b[2Jcleared`,
		"cr\rdel\x7fnul\x00":             `cr\x0ddel\x7fnul\x00`,
		"csi \u009b31m c1":               `csi \u009b31m c1`,
		"bad \xff\xfe utf-8":             `bad \xff\xfe utf-8`,
		"cut \xe2\x82":                   `cut \xe2\x82`,
		"● ünïcödé € 🐑":                  "● ünïcödé € 🐑",
		"\u00a0 nbsp is printable":       "\u00a0 nbsp is printable",
	} {
		if got := string(EscapeControls([]byte(in))); got != want {
			t.Errorf("EscapeControls(%q) = %q, want %q", in, got, want)
		}
	}
}
