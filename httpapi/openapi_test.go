package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/httpapi"
)

var update = flag.Bool("update", false, "rewrite docs/openapi.json")

// TestOpenAPIDocument: docs/openapi.json is what the route table makes
// (go test ./httpapi -run OpenAPI -update rewrites it), and every path
// and method it names is served: without a token 401, with the admin
// capability anything but the mux's "no such route" (404 bad-request
// about the route) or "method not allowed"; and a method it does not
// name on those paths is not served.
func TestOpenAPIDocument(t *testing.T) {
	path := filepath.Join("..", "docs", "openapi.json")
	got := httpapi.OpenAPI()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not the route table's: go test ./httpapi -run OpenAPI -update", path)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(want, &doc); err != nil {
		t.Fatal(err)
	}
	td := startDaemon(t, config)
	tok := td.admin(t)
	fill := regexp.MustCompile(`\{[a-z]+\}`)
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"}
	for p, ops := range doc.Paths {
		concrete := fill.ReplaceAllStringFunc(p, func(v string) string {
			if v == "{id}" {
				return "1"
			}
			return "web"
		})
		for _, m := range methods {
			_, documented := ops[strings.ToLower(m)]
			code, b := td.do(t, m, concrete, "", "")
			if code != http.StatusUnauthorized {
				t.Fatalf("%s %s without a token: %d %s", m, concrete, code, b)
			}
			if m == "GET" && p == "/v1/events" || strings.HasSuffix(p, "/log") {
				continue // streams are tried by the other tests
			}
			code, b = td.do(t, m, concrete, tok, "")
			unrouted := code == http.StatusMethodNotAllowed || code == http.StatusNotFound && (m == "HEAD" || bytes.Contains(b, []byte("no such resource")))
			if documented == unrouted {
				t.Fatalf("%s %s: documented %v, answered %d %s", m, concrete, documented, code, b)
			}
		}
	}
}
