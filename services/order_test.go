package services

import (
	"slices"
	"testing"
)

func TestStartOrder(t *testing.T) {
	specs := map[string]*Spec{
		"web":    {Name: "web", Requires: []string{"db"}, After: []string{"cache"}},
		"db":     {Name: "db", After: []string{"disk"}},
		"disk":   {Name: "disk"},
		"cache":  {Name: "cache"},
		"a":      {Name: "a", After: []string{"b"}},
		"b":      {Name: "b", Requires: []string{"a"}}, // a cycle with a
		"self":   {Name: "self", After: []string{"self"}},
		"both":   {Name: "both", After: []string{"disk"}, Requires: []string{"disk"}},
		"lonely": {Name: "lonely"},
	}
	tests := []struct {
		name  string
		names []string
		want  []string
	}{
		{"empty", nil, nil},
		{"one", []string{"web"}, []string{"web"}},
		{"no relations keep their order", []string{"lonely", "cache", "disk"}, []string{"lonely", "cache", "disk"}},
		{"required and after come first", []string{"web", "db", "cache"}, []string{"db", "cache", "web"}},
		{"a chain", []string{"web", "db", "disk", "cache"}, []string{"disk", "db", "cache", "web"}},
		{"relations outside the batch are ignored", []string{"web", "lonely"}, []string{"web", "lonely"}},
		{"a cycle comes after the rest, in the order given", []string{"b", "a", "lonely"}, []string{"lonely", "b", "a"}},
		{"a cycle does not hold up the rest", []string{"a", "b", "db", "disk"}, []string{"disk", "db", "a", "b"}},
		{"a service after itself", []string{"self", "lonely"}, []string{"self", "lonely"}},
		{"after and requires the same one", []string{"both", "disk"}, []string{"disk", "both"}},
		{"unknown names stay", []string{"ghost", "web", "db"}, []string{"ghost", "db", "web"}},
		{"earliest ready first", []string{"web", "lonely", "db", "cache"}, []string{"lonely", "db", "cache", "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StartOrder(slices.Clone(tt.names), specs)
			if !slices.Equal(got, tt.want) {
				t.Errorf("StartOrder(%v) = %v, want %v", tt.names, got, tt.want)
			}
		})
	}
}

// Every service of a large boot, ordered at once, in one pass.
func BenchmarkStartOrder20000(b *testing.B) {
	names := make([]string, 20000)
	specs := make(map[string]*Spec, len(names))
	for i := range names {
		names[i] = "s" + string(rune('a'+i%26)) + string(rune(i))
		specs[names[i]] = &Spec{Name: names[i]}
	}
	for b.Loop() {
		StartOrder(names, specs)
	}
}
