package cmdutil

import (
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestMarshalDoc(t *testing.T) {
	type inner struct {
		List []string `json:"list"`
	}
	type doc struct {
		List     []string            `json:"list"`
		Opt      []string            `json:"opt,omitempty"`
		Map      map[string]string   `json:"map"`
		MapLists map[string][]string `json:"map_lists"`
		Inners   []inner             `json:"inners"`
		Ptr      *inner              `json:"ptr,omitempty"`
		PtrSet   *inner              `json:"ptr_set"`
		When     time.Time           `json:"when,omitzero"`
		HTML     string              `json:"html"`
	}
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"empty struct", struct{}{}, `{"format":1}`},
		{"nil lists and maps", doc{PtrSet: &inner{}, MapLists: map[string][]string{"a": nil}, Inners: []inner{{}}, HTML: "<a&b>"},
			`{"format":1,"list":[],"map":{},"map_lists":{"a":[]},"inners":[{"list":[]}],"ptr_set":{"list":[]},"html":"<a&b>"}`},
		{"a pointer", &wire.CapList{}, `{"format":1,"caps":[]}`},
		{"an error", ErrorDoc{Error: &wire.Error{Kind: KindUsage, Message: "m"}}, `{"format":1,"error":{"kind":"usage","message":"m"}}`},
		{"a zero time is left out", wire.LogEntry{Service: "s", Text: "t"}, `{"format":1,"service":"s","text":"t"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := MarshalDoc(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tt.want+"\n" {
				t.Errorf("got  %s\nwant %s", strings.TrimSpace(got), tt.want)
			}
		})
	}
	for _, v := range []any{[]string{}, "x", (*wire.CapList)(nil)} {
		if _, err := MarshalDoc(v); err == nil {
			t.Errorf("%T: no error: a document is a struct", v)
		}
	}
}

func TestWantsJSON(t *testing.T) {
	for args, want := range map[string]bool{
		"status --json":          true,
		"--json=true status":     true,
		"status --json=false":    false,
		"status":                 false,
		"hello web -- --json":    false,
		"-s --json status":       true, // a socket named --json is not worth the care
		"fleet exec -- echo x y": false,
	} {
		if got := WantsJSON(strings.Fields(args)); got != want {
			t.Errorf("WantsJSON(%s) = %v, want %v", args, got, want)
		}
	}
}
