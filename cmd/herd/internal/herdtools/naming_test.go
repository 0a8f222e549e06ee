package herdtools

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestFleetJSONIsSnakeCase: the documents of every fleet command (hosts,
// fleet *, recipe *) name their keys in one style, snake_case, as the
// rest of herd's JSON does.
func TestFleetJSONIsSnakeCase(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	for file, b := range generateSchemas(t) {
		if !strings.HasPrefix(file, "herd-fleet-") && !strings.HasPrefix(file, "herd-recipe-") && file != "herd-hosts.json" {
			continue
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		bad := map[string]bool{}
		var walk func(n any)
		walk = func(n any) {
			switch n := n.(type) {
			case map[string]any:
				if props, ok := n["properties"].(map[string]any); ok {
					for k := range props {
						if !snake.MatchString(k) {
							bad[k] = true
						}
					}
				}
				for _, v := range n {
					walk(v)
				}
			case []any:
				for _, v := range n {
					walk(v)
				}
			}
		}
		walk(doc)
		if len(bad) > 0 {
			var keys []string
			for k := range bad {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			t.Errorf("%s: keys not in snake_case: %s", file, strings.Join(keys, ", "))
		}
	}
}
