package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/services"
)

func TestRelations(t *testing.T) {
	specs, errs := Parse("s.yaml", []byte(`services:
  - name: top
    requires: [x, alpha]
    wants: [x, alpha]
    after: [alpha-alias]
    conflicts: [old]
  - name: x
    after: [alpha]
  - name: alpha
    provides: [alpha-alias]
  - name: old
`), testAccounts)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if errs := services.Validate(specs); len(errs) > 0 {
		t.Fatal(errs)
	}
	top := specs[0]
	// Aliases resolved; alpha asked to start before x, which is after it.
	if !slices.Equal(top.Requires, []string{"alpha", "x"}) || !slices.Equal(top.Wants, []string{"alpha", "x"}) ||
		!slices.Equal(top.After, []string{"alpha"}) || !slices.Equal(top.Conflicts, []string{"old"}) {
		t.Fatalf("requires %q wants %q after %q conflicts %q", top.Requires, top.Wants, top.After, top.Conflicts)
	}
}

func TestRelationErrors(t *testing.T) {
	specs, errs := Parse("s.yaml", []byte(`services:
  - name: a
    after: [b, nobody, a]
    wants: [ghost]
    conflicts: [zed]
  - name: b
    requires: [c]
  - name: c
    after: [a]
  - name: d
    requires: [e]
    conflicts: [e, f]
    after: [f]
  - name: e
  - name: f
    conflicts: [d]
  - name: g
    after: [h]
  - name: h
    after: [g]
  - name: i
    after: "j"
`), testAccounts)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	for _, e := range services.Validate(specs) {
		got = append(got, e.Error())
	}
	want := []string{
		`s.yaml:22:12: after: expected a list of strings, got "j"`,
		`s.yaml:2:5: service a: after: unknown service "nobody"`,
		`s.yaml:2:5: service a: after: names itself`,
		`s.yaml:2:5: service a: wants: unknown service "ghost"`,
		`s.yaml:2:5: service a: conflicts: unknown service "zed"`,
		`s.yaml:2:5: dependency cycle: a -> b -> c -> a`,
		`s.yaml:10:5: service d: conflicts with e, which it requires: starting d would stop e`,
		`s.yaml:10:5: service d: conflicts with f, which it is after: starting d would stop f`,
		`s.yaml:15:5: service f: conflicts with d, which is after it: a conflict goes both ways, and starting d would stop f`,
		`s.yaml:17:5: dependency cycle: g -> h -> g`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
