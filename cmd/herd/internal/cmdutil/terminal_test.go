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

func TestEscapeJSONControls(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":"plain"}`:           `{"a":"plain"}`,
		"{\r\n\"a\":1}":           "{\r\n\"a\":1}",
		"\"esc \x1b[2J\"":         `"esc \u001b[2J"`,
		"\"del \x7f nul \x00\"":   `"del \u007f nul \u0000"`,
		"\"csi \u009b31m\"":       `"csi \u009b31m"`,
		"\"bad \xff\xfe utf-8\"":  `"bad \ufffd\ufffd utf-8"`,
		"\"● ünïcödé € 🐑\"":       "\"● ünïcödé € 🐑\"",
		"\"\u00a0 is printable\"": "\"\u00a0 is printable\"",
	} {
		if got := string(escapeJSONControls([]byte(in))); got != want {
			t.Errorf("escapeJSONControls(%q) = %q, want %q", in, got, want)
		}
	}
}
