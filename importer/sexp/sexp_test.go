package sexp

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"empty", "", ""},
		{"comments only", "; a comment\n#| block #| nested |# |#\n#;(skipped datum)\n", ""},
		{"atoms", `foo -3 0.5 3/4 #t #false #:user "s" #\a #\space #x1F`, `foo -3 0.5 3/4 #t #f #:user "s" #\a #\  #x1F`},
		{"list", `(service '(sshd ssh-daemon) #:respawn? #t)`, `(service '(sshd ssh-daemon) #:respawn? #t)`},
		{"brackets", `(let ([a 1]) a)`, `(let ((a 1)) a)`},
		{"dotted", `'(3 . 5)`, `'(3 . 5)`},
		{"quote forms", "`(a ,b ,@c) #~(x #$y #$@z #+w)", "`(a ,b ,@c) #~(x #$y #$@z #+w)"},
		{"vector", `#(1 2) #vu8(1)`, `#(1 2) #(1)`},
		{"string escapes", `"a\"b\\c\n\x41;\x42\u00e9"`, `"a\"b\\c\nABé"`},
		{"string continuation", "\"a \\\n     b\"", `"a b"`},
		{"script header", "#!/usr/bin/guile \\\n-s\n!#\n(a)", `(a)`},
		{"fold-case", "#!fold-case (a)", `(a)`},
		{"datum comment in list", "(a #;b c)", `(a c)`},
		{"symbols with odd characters", `(->string <service> set! a.b ...)`, `(->string <service> set! a.b ...)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes, err := Parse([]byte(tc.src), DefaultLimits)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.src, err)
			}
			var got []string
			for _, n := range nodes {
				got = append(got, n.String())
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("Parse(%q) = %s, want %s", tc.src, g, tc.want)
			}
		})
	}
}

func TestPositions(t *testing.T) {
	nodes, err := Parse([]byte("; é comment\n(service\n  '(sshd) #:user \"é\" x)"), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	svc := nodes[0]
	for _, tc := range []struct {
		n         *Node
		line, col int
	}{
		{svc, 2, 1},
		{svc.Items[0], 2, 2},
		{svc.Items[1], 3, 3},          // the quote
		{svc.Items[1].Items[1], 3, 4}, // (sshd)
		{svc.Items[2], 3, 11},         // #:user
		{svc.Items[3], 3, 18},         // "é"
		{svc.Items[4], 3, 22},         // x, after a two-byte character
	} {
		if tc.n.Line != tc.line || tc.n.Col != tc.col {
			t.Errorf("%s at %d:%d, want %d:%d", tc.n, tc.n.Line, tc.n.Col, tc.line, tc.col)
		}
	}
}

func TestErrors(t *testing.T) {
	deep := strings.Repeat("(", 300) + strings.Repeat(")", 300)
	for _, tc := range []struct {
		name, src, want string
	}{
		{"unclosed list", "(a\n(b c)", "1:1: '(' is not closed: the file ends"},
		{"stray close", "a)", "1:2: unexpected ')': no list is open here"},
		{"mismatched", "(a]", "1:3: ']' closes the '(' opened at 1:1"},
		{"unclosed string", "(a \"bc", `1:4: string is not closed: the file ends`},
		{"bad escape", `"a\qb"`, `1:3: unknown escape \q in a string`},
		{"bad hex", `"\xZZ"`, `1:2: bad escape \x in a string`},
		{"unclosed block comment", "#| a", "1:1: #| comment is not closed by |#"},
		{"unknown hash", "#<procedure>", "1:1: unknown syntax #<procedure>"},
		{"bar symbol", "|a b|", "1:1: symbols in |bars| are not supported"},
		{"dot outside", ". a", "1:1: a dot outside a list"},
		{"dot first", "( . a)", "1:3: a dotted list needs an item before the dot"},
		{"two after dot", "(a . b c)", "1:8: a dotted list has one item after the dot, then ')'"},
		{"quote at end", "(a ')", "1:5: unexpected ')': no list is open here"},
		{"quote of nothing", "'", "1:1: quote of nothing: the file ends"},
		{"datum comment at end", "#;", "1:1: #; comments out the next datum, but the file ends"},
		{"char name", `#\bogus`, `1:1: unknown character name #\bogus`},
		{"too deep", deep, "1:257: nested more than 256 deep"},
		{"keyword without name", "#: a", "1:1: #: without a keyword name"},
		{"datum comments too deep", strings.Repeat("#;", 300) + "a", "1:513: nested more than 256 deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), DefaultLimits)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) = %v, want an *Error", tc.src, err)
			}
			if err.Error() != tc.want {
				t.Errorf("Parse(%q):\n got %s\nwant %s", tc.src, err, tc.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	if _, err := Parse([]byte("(a b c)"), Limits{MaxBytes: 3}); err == nil || !strings.Contains(err.Error(), "7 bytes, more than the 3") {
		t.Errorf("size: %v", err)
	}
	if _, err := Parse([]byte("(a b c)"), Limits{MaxNodes: 3}); err == nil || !strings.Contains(err.Error(), "more than 3 data") {
		t.Errorf("nodes: %v", err)
	}
	if _, err := Parse([]byte("''''a"), Limits{MaxDepth: 3}); err == nil || !strings.Contains(err.Error(), "nested more than 3 deep") {
		t.Errorf("quote depth: %v", err)
	}
	if _, err := Parse([]byte("#| #| #| #| |# |# |# |#"), Limits{MaxDepth: 3}); err == nil || !strings.Contains(err.Error(), "nested more than 3 deep") {
		t.Errorf("comment depth: %v", err)
	}
}

// FuzzSexp: whatever the input, Parse returns data or an *Error at a
// position inside the input, never panics, and stays within its limits.
func FuzzSexp(f *testing.F) {
	for _, s := range []string{
		`(service '(sshd ssh-daemon) #:start (make-forkexec-constructor '("/usr/sbin/sshd" "-D") #:pid-file "/etc/ssh/sshd.pid") #:stop (make-kill-destructor) #:respawn? #t)`,
		"#~(begin #$x #$@y) `(a ,b ,@c) #(1 2) '(3 . 5)",
		"\"\\x41;\\u00e9\\\n  x\" #\\space #\\x41 #!fold-case #| a #| b |# |# #;(c) ; d\n",
		"#!/bin/sh\n!#\n[a (b) c]",
		"(a . b) (.) (a .) #: #\\ \"\\",
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxBytes: 1 << 16, MaxDepth: 64, MaxNodes: 4096}
	f.Fuzz(func(t *testing.T, src []byte) {
		nodes, err := Parse(src, lim)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			lines := strings.Count(string(src), "\n") + 1
			if e.Line < 1 || e.Line > lines || e.Col < 1 || e.Col > utf8.RuneCount(src)+1 {
				t.Fatalf("error at %d:%d is outside the input (%d lines): %v", e.Line, e.Col, lines, err)
			}
			return
		}
		count := 0
		var walk func(n *Node, depth int)
		walk = func(n *Node, depth int) {
			count++
			if depth > lim.MaxDepth+1 {
				t.Fatalf("depth %d past the limit", depth)
			}
			for _, it := range n.Items {
				walk(it, depth+1)
			}
			if n.Tail != nil {
				walk(n.Tail, depth+1)
			}
			_ = n.String()
		}
		for _, n := range nodes {
			walk(n, 0)
		}
		if count > lim.MaxNodes {
			t.Fatalf("%d nodes past the limit", count)
		}
	})
}
