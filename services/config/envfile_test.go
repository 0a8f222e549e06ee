package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/shepherd-go/shepherd/services"
)

func TestParseEnvironmentFile(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // NAME=VALUE|NAME=VALUE..., values with \n as is
		err      string
	}{
		{name: "empty", in: "", want: ""},
		{name: "plain", in: "A=1\nB=two\n", want: "A=1|B=two"},
		{name: "no final newline", in: "A=1", want: "A=1"},
		{name: "comments and blanks", in: "# c\n; c\n\n   \nA=1\n  # indented comment\n", want: "A=1"},
		{name: "whitespace around key and value", in: "  A  =   x y  \t\r\n", want: "A=x y"},
		{name: "crlf", in: "A=1\r\nB=2\r\n", want: "A=1|B=2"},
		{name: "empty value", in: "A=\nB=  \n", want: "A=|B="},
		{name: "no equals ignored", in: "JUSTAWORD\nA=1\n", want: "A=1"},
		{name: "later wins", in: "A=1\nA=2\n", want: "A=1|A=2"},
		{name: "equals in value", in: "A=b=c\n", want: "A=b=c"},
		{name: "hash inside value is kept", in: "A=x # not a comment\n", want: "A=x # not a comment"},
		{name: "single quotes", in: "A='  x \\n \"y\" '\n", want: `A=  x \n "y" `},
		{name: "single quotes span lines", in: "A='one\ntwo'\nB=3\n", want: "A=one\ntwo|B=3"},
		{name: "double quotes", in: `A="  a \" \\ \$ \` + "`" + ` \n "` + "\n", want: "A=  a \" \\ $ ` \\n "},
		{name: "double quote continuation", in: "A=\"one \\\ntwo\"\n", want: "A=one two"},
		{name: "double quotes span lines", in: "A=\"one\ntwo\"\n", want: "A=one\ntwo"},
		{name: "unquoted backslash", in: `A=a\b\\c\ d` + "\n", want: `A=ab\c d`},
		{name: "unquoted continuation", in: "A=one \\\n  two\nB=3\n", want: "A=one   two|B=3"},
		{name: "continuation before value", in: "A=\\\nvalue\n", want: "A=value"},
		{name: "quotes joined", in: `A="x"'y'z` + "\n", want: "A=xyz"},
		{name: "space between quoted parts dropped", in: `A="x" "y"` + "\n", want: "A=xy"},
		{name: "comment backslash does not continue", in: "# comment \\\nA=1\n", want: "A=1"},
		{name: "semicolon comment", in: ";A=1\nB=2\n", want: "B=2"},
		{name: "utf-8 value", in: "A=café ☕\n", want: "A=café ☕"},
		{name: "bom skipped", in: "\xef\xbb\xbfA=1\n", want: "A=1"},
		{name: "underscore and digits", in: "_A1=x\n", want: "_A1=x"},
		{name: "backslash at eof", in: `A=x\`, want: "A=x"},
		{name: "control characters kept", in: "A=a\x01b\n", want: "A=a\x01b"},

		{name: "bad name digit", in: "A=1\n1A=2\n", err: "f.env:2: invalid variable name \"1A\""},
		{name: "bad name dash", in: "MY-VAR=2\n", err: "f.env:1: invalid variable name \"MY-VAR\""},
		{name: "bad name space", in: "export A=2\n", err: "f.env:1: invalid variable name \"export A\""},
		{name: "bad name empty", in: "=2\n", err: "f.env:1: invalid variable name \"\""},
		{name: "nul", in: "A=1\nB=x\x00y\n", err: "f.env:2: contains a NUL byte"},
		{name: "invalid utf-8", in: "A=1\n\nB=\xff\n", err: "f.env:3: not valid UTF-8"},
		{name: "unterminated double", in: "A=1\nB=\"x\ny\n", err: "f.env:2: the quote opened here is never closed"},
		{name: "unterminated single", in: "B='x", err: "f.env:1: the quote opened here is never closed"},
		{name: "too large", in: strings.Repeat("#", MaxEnvironmentFileSize+1), err: "f.env: larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars, err := ParseEnvironmentFile("f.env", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), "environment-file "+tc.err) {
					t.Fatalf("error %v, want environment-file %s...", err, tc.err)
				}
				var e *EnvFileError
				if !errors.As(err, &e) {
					t.Fatalf("error %T, want *EnvFileError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vars {
				got = append(got, v.Name+"="+v.Value)
			}
			if g := strings.Join(got, "|"); g != tc.want {
				t.Errorf("got  %q\nwant %q", g, tc.want)
			}
		})
	}
}

func TestParseEnvironmentFileLines(t *testing.T) {
	vars, err := ParseEnvironmentFile("f", []byte("# c\nA='x\ny'\n\nB=1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) != 2 || vars[0].Line != 2 || vars[1].Line != 5 {
		t.Fatalf("%+v", vars)
	}
}

func TestReadEnvironmentFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.env", "A=1\nB=from-a\n")
	b := write("b.env", "B=from-b\nC=3\n")
	env, err := ReadEnvironmentFiles([]services.EnvironmentFile{{Path: a}, {Path: dir + "/missing", Optional: true}, {Path: b}})
	if err != nil {
		t.Fatal(err)
	}
	if env["A"] != "1" || env["B"] != "from-b" || env["C"] != "3" || len(env) != 3 {
		t.Fatalf("%v", env)
	}

	for _, tc := range []struct {
		name string
		file services.EnvironmentFile
		want string
	}{
		{"missing", services.EnvironmentFile{Path: dir + "/missing"}, "environment-file " + dir + "/missing: file does not exist (a \"-\" before the path makes the file optional)"},
		{"directory", services.EnvironmentFile{Path: dir, Optional: true}, "environment-file " + dir + ": not a regular file (d---------)"},
		{"too large", services.EnvironmentFile{Path: write("big.env", strings.Repeat("A=1\n", MaxEnvironmentFileSize/4+1))}, "larger than 1048576 bytes"},
		{"bad line", services.EnvironmentFile{Path: write("bad.env", "A=1\nB C=2\n")}, "bad.env:2: invalid variable name \"B C\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadEnvironmentFiles([]services.EnvironmentFile{tc.file})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %s", err, tc.want)
			}
		})
	}

	t.Run("fifo does not block", func(t *testing.T) {
		fifo := filepath.Join(dir, "fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
		_, err := ReadEnvironmentFiles([]services.EnvironmentFile{{Path: fifo}})
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("error %v", err)
		}
	})
}

// FuzzEnvironmentFile checks that any bytes parse or fail with a clear
// error, never panic, and that what parses holds only valid names and no
// NUL (so it can be passed to execve).
func FuzzEnvironmentFile(f *testing.F) {
	for _, s := range []string{
		"A=1\n", "A='x\ny'\n", "A=\"a\\\"b\\\nc\"\n", "# c \\\nA=1", "A=x\\", "1=2", "A=\"", "\xef\xbb\xbfA=1",
		"A=a b  \r\n", "A=\"x\" 'y' z\n", ";x\nB=\\\n\\\nC\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := ParseEnvironmentFile("f", data)
		if err != nil {
			var e *EnvFileError
			if !errors.As(err, &e) || e.File != "f" {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		for _, v := range vars {
			if !validEnvName([]byte(v.Name)) || strings.ContainsRune(v.Value, 0) || v.Line < 1 {
				t.Fatalf("bad assignment %+v", v)
			}
		}
	})
}
