package recipe

import (
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/fleet"
)

const restartRecipe = `description: restart a service, show its log where that failed
params:
  service: {description: the service, required: true}
  lines: {description: log lines, default: "20"}
  note: a free-form note
steps:
  - systemctl restart {{.service}}
  - run: journalctl -u {{.service}} -n {{.lines}}
    when: failed
  - "@changed echo '{{.Host}} in {{.Group}} at {{.Timestamp}}'"
  - "@failed echo again"
`

func TestRecipeParamsAndRendering(t *testing.T) {
	r, err := Parse("restart.yaml", "restart", []byte(restartRecipe))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Steps) != 4 || r.Steps[1].When != Failed || r.Steps[2].When != Changed || r.Steps[3].When != Failed || r.Steps[3].Run != "echo again" {
		t.Fatalf("steps %+v", r.Steps)
	}
	if _, err := r.Bind(nil); err == nil || err.Error() != "recipe restart (restart.yaml:1) needs service: give --set service=VALUE" {
		t.Errorf("no service: %v", err)
	}
	if _, err := r.Bind(map[string]string{"service": "x", "colour": "red"}); err == nil || !strings.Contains(err.Error(), "has no param colour (params: service, lines, note)") {
		t.Errorf("--set colour: %v", err)
	}
	vals, err := r.Bind(map[string]string{"service": "nginx"})
	if err != nil || vals["lines"] != "20" || vals["note"] != "" {
		t.Fatalf("bind: %v %v", vals, err)
	}
	h := &fleet.Host{Name: "web01", Groups: []string{"eu"}, Tags: map[string]string{"role": "web"}}
	now := time.Date(2026, 12, 4, 15, 4, 5, 0, time.UTC)
	for i, want := range []string{
		"[systemctl restart nginx]",
		"[journalctl -u nginx -n 20]",
		"[echo web01 in eu at 20261204-150405]",
	} {
		argv, err := r.Render(i, vals, h, now)
		if err != nil || "["+strings.Join(argv, " ")+"]" != want || i == 2 && len(argv) != 2 {
			t.Errorf("step %d: %q %v, want %s", i+1, argv, err, want)
		}
	}
	h.Groups = nil
	if argv, _ := r.Render(2, vals, h, now); argv[1] != "web01 in web at 20261204-150405" {
		t.Errorf("the group of a host without groups: %q", argv)
	}
}

func TestRecipeErrorsNameFileAndLine(t *testing.T) {
	_, err := Parse("bad.yaml", "bad", []byte(`params:
  Host: reserved
  ok: {required: yes please}
  both: {required: true, default: x}
steps:
  - run: echo {{.ok
  - run: echo
    when: sometimes
  - colour: blue
`))
	for _, want := range []string{
		"bad.yaml:2:3: recipe bad: param Host: the name is the template's own",
		"bad.yaml:3:18: recipe bad: param ok: required: expected true or false",
		"bad.yaml:4:3: recipe bad: param both: required and with a default",
		"bad.yaml:6:5: recipe bad: step: template: bad.yaml:6:",
		"bad.yaml:8:11: recipe bad: step: when: \"sometimes\"",
		"bad.yaml:9:5: recipe bad: step: unknown key \"colour\"",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors lack %q:\n%v", want, err)
		}
	}
	_, err = Parse("f.yaml", "f", []byte("steps:\n  - \"@failed echo\"\n"))
	if err == nil || !strings.Contains(err.Error(), "f.yaml:1:1: recipe f: the first step runs on every host") {
		t.Errorf("first step @failed: %v", err)
	}
	_, err = Parse("y.yaml", "y", []byte("steps: [\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "y.yaml:") {
		t.Errorf("bad YAML: %v", err)
	}
	section := func(text string) ([]*Recipe, error) {
		inv, err := fleet.ParseInventory("inv.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return ParseSection(inv.File, inv.RecipeSection)
	}
	if _, err := section("hosts: {}\nrecipes:\n  up:\n    steps: [uptime]\n  broken:\n    steps: {a: b}\n"); err == nil || !strings.Contains(err.Error(), "inv.yaml:6:12: recipe broken: steps: expected a list") {
		t.Errorf("inventory recipes: %v", err)
	}
	good, err := section("hosts: {}\nrecipes:\n  up:\n    steps: [uptime]\n")
	if err != nil || len(good) != 1 || good[0].Name != "up" || good[0].Pos.Line != 4 {
		t.Errorf("inventory recipes: %+v %v", good, err)
	}
}

func TestStepHosts(t *testing.T) {
	hosts := []*fleet.Host{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, n := range strings.Fields(s) {
			m[n] = true
		}
		return m
	}
	for _, tc := range []struct {
		when                        When
		failed, lastFailed, changed string
		want                        string
	}{
		{Always, "", "", "", "a b c d"},
		{Always, "b", "b", "", "a c d"},
		{Failed, "b c", "c", "", "c"},
		{Failed, "b", "", "", ""},
		{Changed, "b", "", "a b d", "a d"},
	} {
		got := strings.Join(names(StepHosts(tc.when, hosts, set(tc.failed), set(tc.lastFailed), set(tc.changed))), " ")
		if got != tc.want {
			t.Errorf("%q failed=%q last=%q changed=%q: %q, want %q", tc.when, tc.failed, tc.lastFailed, tc.changed, got, tc.want)
		}
	}
}

func names(hs []*fleet.Host) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Name)
	}
	return out
}
