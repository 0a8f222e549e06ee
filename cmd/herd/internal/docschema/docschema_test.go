package docschema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

type color string

type inner struct {
	Code int `json:"code"`
}

type embedded struct {
	File string `json:"file"`
}

type sample struct {
	embedded
	Name   string            `json:"name"`
	Color  color             `json:"color"`
	When   time.Time         `json:"when,omitzero"`
	List   []string          `json:"list"`
	Tags   map[string]string `json:"tags,omitempty"`
	Pair   [2]string         `json:"pair"`
	Inner  *inner            `json:"inner,omitempty"`
	Count  uint64            `json:"count"`
	hidden int               // unexported: not printed
	Skip   int               `json:"-"`
}

var _ = sample{hidden: 0}

type line struct {
	Text string `json:"text"`
}

func sampleSchema(t *testing.T) *Schema {
	g := &Generator{Format: 1, Enums: map[reflect.Type][]string{reflect.TypeFor[color](): {"red", "green"}}}
	s, err := g.File("x.json", "x", "", []Variant{
		{Title: "sample", Type: reflect.TypeFor[sample]()},
		{Title: "line", Type: reflect.TypeFor[line](), Line: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	// What is checked is what is written: go through the file's form.
	b, err := Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Schema
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

func TestValidate(t *testing.T) {
	s := sampleSchema(t)
	const ok = `{"format":1,"file":"f","name":"n","color":"red","list":[],"pair":["a","b"],"count":0}`
	for _, tt := range []struct {
		name, doc, wantErr, wantMatch string
	}{
		{"minimal", ok, "", "sample"},
		{"all", `{"format":1,"file":"f","name":"n","color":"green","when":"2026-12-01T10:00:00.5+01:00","list":["a"],"tags":{"k":"v"},"pair":["a","b"],"inner":{"code":3},"count":7}`, "", "sample"},
		{"a line", `{"format":1,"text":"hi"}`, "", "line"},
		{"null list", strings.Replace(ok, `"list":[]`, `"list":null`, 1), "/list: null, want an array", ""},
		{"no format", strings.Replace(ok, `"format":1,`, ``, 1), `no "format"`, ""},
		{"format 2", strings.Replace(ok, `"format":1`, `"format":2`, 1), "/format: 2, want 1", ""},
		{"unknown key", strings.Replace(ok, `"count":0`, `"count":0,"Count":0`, 1), `"Count" is not in the schema`, ""},
		{"camel case", `{"format":1,"File":"f"}`, `no "file"`, ""},
		{"zero time", strings.Replace(ok, `"count":0`, `"count":0,"when":"0001-01-01T00:00:00Z"`, 1), "zero time", ""},
		{"time without zone", strings.Replace(ok, `"count":0`, `"count":0,"when":"2026-12-01T10:00:00"`, 1), "not an RFC 3339 time", ""},
		{"enum", strings.Replace(ok, `"red"`, `"blue"`, 1), `"blue" is not one of [red green]`, ""},
		{"pair", strings.Replace(ok, `["a","b"]`, `["a"]`, 1), "/pair: 1 items", ""},
		{"negative unsigned", strings.Replace(ok, `"count":0`, `"count":-1`, 1), "below 0", ""},
		{"fraction", strings.Replace(ok, `"count":0`, `"count":1.5`, 1), "want an integer", ""},
		{"nested", strings.Replace(ok, `"count":0`, `"count":0,"inner":{"code":"x"}`, 1), "/inner/code: a string, want a number", ""},
		{"map values", strings.Replace(ok, `"count":0`, `"count":0,"tags":{"k":1}`, 1), "/tags/k: a number, want a string", ""},
		{"two values", ok + ok, "more than one JSON value", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(s, []byte(tt.doc))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one holding %q", err, tt.wantErr)
			}
			if tt.wantMatch != "" {
				if got := Match(s, []byte(tt.doc)); got != tt.wantMatch {
					t.Errorf("Match = %q, want %q", got, tt.wantMatch)
				}
			}
		})
	}
}

func TestGenerateRefusesWhatItCannotDescribe(t *testing.T) {
	type raw struct {
		R json.RawMessage `json:"r"`
	}
	type str struct {
		N int `json:"n,string"`
	}
	for _, v := range []any{raw{}, str{}} {
		g := &Generator{Format: 1}
		if _, err := g.File("x", "x", "", []Variant{{Type: reflect.TypeOf(v)}}); err == nil {
			t.Errorf("%T: no error", v)
		}
	}
}
