package fleetshell

import (
	"reflect"
	"testing"
)

func TestWordsOf(t *testing.T) {
	inv := testInventory(t)
	w := WordsOf(inv.Hosts)
	want := Words{
		Tags:   []string{"debian12", "env=prod", "env=staging", "role=db", "role=web"},
		Groups: []string{"eu", "us"},
		Hosts:  []string{"db1", "web1", "web2", "web3"},
	}
	if !reflect.DeepEqual(w, want) {
		t.Errorf("WordsOf = %+v, want %+v", w, want)
	}
}

func TestComplete(t *testing.T) {
	w := Words{Tags: []string{"env=prod", "role=db", "role=web"}, Groups: []string{"eu", "us"}, Hosts: []string{"db1", "web1", "web2"}}
	all := []string{"@failed ", "@changed ", "@differs ", "@tag:", "@group:", "@host:", "@exclude:"}
	for _, tc := range []struct {
		line string
		pos  int // -1: the end
		want []string
		n    int
	}{
		{line: "", pos: -1, want: all},
		{line: "@", pos: -1, want: all, n: 1},
		{line: "@f", pos: -1, want: []string{"@failed "}, n: 2},
		{line: "@ta", pos: -1, want: []string{"@tag:"}, n: 3},
		{line: "@tag:", pos: -1, want: []string{"@tag:env=prod ", "@tag:role=db ", "@tag:role=web "}, n: 5},
		{line: "@tag:role=d", pos: -1, want: []string{"@tag:role=db "}, n: 11},
		{line: "@tag:!r", pos: -1, want: []string{"@tag:!role=db ", "@tag:!role=web "}, n: 7},
		{line: "@group:", pos: -1, want: []string{"@group:eu ", "@group:us "}, n: 7},
		{line: "@group:!e", pos: -1, want: []string{"@group:!eu "}, n: 9},
		{line: "@host:w", pos: -1, want: []string{"@host:web1 ", "@host:web2 "}, n: 7},
		{line: "@exclude:d", pos: -1, want: []string{"@exclude:db1 "}, n: 10},
		// After other selectors, and after :hosts.
		{line: "@failed @d", pos: -1, want: []string{"@differs "}, n: 2},
		{line: ":hosts @c", pos: -1, want: []string{"@changed "}, n: 2},
		// Builtins at the start only.
		{line: ":", pos: -1, want: []string{":hosts ", ":use ", ":last ", ":help ", ":quit "}, n: 1},
		{line: ":u", pos: -1, want: []string{":use "}, n: 2},
		{line: ":use @tag:e", pos: -1, want: []string{"@tag:env=prod "}, n: 6},
		{line: ":h", pos: -1, want: []string{":hosts ", ":help "}, n: 2},
		{line: "@failed :h", pos: -1, want: nil},
		// Nothing after the command starts.
		{line: "uptime @f", pos: -1, want: nil},
		{line: "@failed uptime ", pos: -1, want: nil},
		{line: "@failed upt", pos: -1, want: nil},
		// The word before the cursor, not the line's end.
		{line: "@ta uptime", pos: 3, want: []string{"@tag:"}, n: 3},
		{line: "@zz", pos: -1, want: nil, n: 3},
	} {
		rs := []rune(tc.line)
		pos := tc.pos
		if pos < 0 {
			pos = len(rs)
		}
		got, n := Complete(rs, pos, w)
		if !reflect.DeepEqual(got, tc.want) || (got != nil && n != tc.n) {
			t.Errorf("Complete(%q, %d) = %q, %d; want %q, %d", tc.line, pos, got, n, tc.want, tc.n)
		}
	}
}

func TestCompleterGivesSuffixes(t *testing.T) {
	c := completer{Words{Tags: []string{"role=db"}}}
	got, n := c.Do([]rune("x"), 0)
	if len(got) != 7 || n != 0 {
		t.Errorf("on an empty word: %q, %d", got, n)
	}
	got, n = c.Do([]rune("@tag:ro"), 7)
	if n != 7 || len(got) != 1 || string(got[0]) != "le=db " {
		t.Errorf("@tag:ro: %q, %d; want [\"le=db \"], 7", got, n)
	}
}
