// Package importertest holds the checks the importers' tests share: that
// what an importer writes loads with the configuration loader, and golden
// files.
package importertest

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/importer"
	"github.com/shepherd-go/shepherd/services"

	"go.yaml.in/yaml/v3"
)

// Update rewrites the golden files: go test ./importer/... -update.
var Update = flag.Bool("update", false, "rewrite the golden files of the importers' tests")

// Issue16Keys are the keys the importers write that issue 16 adds to the
// loader (ready, environment-file, min-uptime). On a branch whose loader
// does not know them yet, a test whose output uses them is skipped, and
// runs by itself once issue 16 is merged.
var Issue16Keys = []string{"ready", "environment-file", "min-uptime"}

var unknownKey = regexp.MustCompile(`unknown key "([a-z-]+)"$`)

// Load checks that data, what an importer wrote, loads and validates
// (importer.Check), and returns the services. When the loader does not
// know keys of issue 16 yet, it checks the configuration without them,
// then skips the rest of the test: to complete at the merge.
func Load(t testing.TB, file string, data []byte) []*services.Spec {
	t.Helper()
	specs, missing, err := Loads(file, data)
	if err != nil {
		t.Fatalf("%v\n--- %s:\n%s", err, file, data)
	}
	if len(missing) > 0 {
		t.Skipf("loads without %s, which this loader does not know yet: to complete at the merge of issue 16", strings.Join(missing, ", "))
	}
	return specs
}

// Loads is Load's check: an error when data does not load, even without
// the keys of issue 16 this loader does not know (missing lists those).
func Loads(file string, data []byte) (specs []*services.Spec, missing []string, err error) {
	specs, err = importer.Check(file, data)
	if err == nil {
		return specs, nil, nil
	}
	list, _ := err.(services.ErrorList)
	unknown := map[string]bool{}
	for _, e := range list {
		m := unknownKey.FindStringSubmatch(e.Msg)
		if m == nil || !isIssue16Key(m[1]) {
			return nil, nil, fmt.Errorf("the imported configuration does not load:\n%v", err)
		}
		unknown[m[1]] = true
	}
	missing = slices.Sorted(maps.Keys(unknown))
	without, err := dropKeys(data, missing)
	if err != nil {
		return nil, nil, err
	}
	if _, err := importer.Check(file, without); err != nil {
		return nil, nil, fmt.Errorf("without the keys of issue 16 (%s), the imported configuration does not load:\n%v", strings.Join(missing, ", "), err)
	}
	return nil, missing, nil
}

// dropKeys removes the keys from every service of a configuration.
func dropKeys(data []byte, keys []string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "services" {
			continue
		}
		for _, svc := range root.Content[i+1].Content {
			var kept []*yaml.Node
			for j := 0; j+1 < len(svc.Content); j += 2 {
				if !slices.Contains(keys, svc.Content[j].Value) {
					kept = append(kept, svc.Content[j], svc.Content[j+1])
				}
			}
			svc.Content = kept
		}
	}
	return yaml.Marshal(&doc)
}

func isIssue16Key(k string) bool { return slices.Contains(Issue16Keys, k) }

// Golden compares got with the file testdata/NAME, or rewrites it with
// -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *Update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (go test -update rewrites it; review the diff):\n--- got:\n%s", path, got)
	}
}

// Services is the YAML of r without its comments: the services alone.
func Services(t testing.TB, r *importer.Result) string {
	t.Helper()
	out, err := r.YAML()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if tl := strings.TrimSpace(l); tl != "" && !strings.HasPrefix(tl, "#") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// Warnings lists r's warnings as "FILE:LINE Directive: message" (with
// :COL after LINE where the warning has one).
func Warnings(r *importer.Result) []string {
	var out []string
	for _, w := range r.Warnings {
		pos := fmt.Sprintf("%s:%d", w.File, w.Line)
		if w.Col > 0 {
			pos += fmt.Sprintf(":%d", w.Col)
		}
		out = append(out, fmt.Sprintf("%s %s: %s", pos, w.Directive, w.Message))
	}
	return out
}

// CheckWarnings wants one warning per entry of want, in order, each a
// prefix of "FILE:LINE[:COL] Directive: message".
func CheckWarnings(t testing.TB, r *importer.Result, want []string) {
	t.Helper()
	got := Warnings(r)
	if len(got) != len(want) {
		t.Errorf("%d warnings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
		return
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}
}
