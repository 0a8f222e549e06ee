package herdtools

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/docschema"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "rewrite docs/schemas/ from the Go types")

// moduleRoot is the repository, from this package's directory.
const moduleRoot = "../../../.."

// generateSchemas makes the schema of every command's documents, by file
// name.
func generateSchemas(t *testing.T) map[string][]byte {
	t.Helper()
	docs := Documents()
	types := []reflect.Type{reflect.TypeFor[cmdutil.ErrorDoc]()}
	for _, ds := range docs {
		for _, d := range ds {
			types = append(types, d.Type)
		}
	}
	comments, err := docschema.LoadComments(moduleRoot, "github.com/shepherd-go/shepherd", types...)
	if err != nil {
		t.Fatal(err)
	}
	g := &docschema.Generator{
		Format:   cmdutil.JSONFormat,
		Enums:    Enums(),
		Comments: comments,
		Custom: map[reflect.Type]*docschema.Schema{
			reflect.TypeFor[wire.Duration](): {Type: "string", Description: "a Go duration: 1.5s, 2m3s, 150ms",
				Pattern: `^(0s|-?([0-9]+(\.[0-9]+)?(h|m|s|ms|us|µs|ns))+)$`},
			reflect.TypeFor[wire.Scalar](): {OneOf: []*docschema.Schema{{Type: "number"}, {Type: "string"}, {Type: "null"}}},
		},
	}
	errorDoc := docschema.Variant{Title: "error", Type: reflect.TypeFor[cmdutil.ErrorDoc]()}
	short := map[string]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			short[CommandPath(sub)] = sub.Short
			walk(sub)
		}
	}
	walk(NewRootCmd(&cmdutil.Factory{}))
	out := map[string][]byte{}
	add := func(command, title, description string, variants []docschema.Variant) {
		s, err := g.File(SchemaFile(command), title, description, variants)
		if err != nil {
			t.Fatalf("%s: %v", command, err)
		}
		b, err := docschema.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		out[SchemaFile(command)] = b
	}
	add("", "herd --json: an error", "What any herd command prints with --json when it fails (exit 1, or 2 for usage): the daemon's error, or herd's own.", []docschema.Variant{errorDoc})
	for command, ds := range docs {
		var vs []docschema.Variant
		for _, d := range ds {
			vs = append(vs, docschema.Variant{Title: d.Title, Type: d.Type, Line: d.Line})
		}
		vs = append(vs, errorDoc)
		add(command, "herd "+command+" --json", short[command], vs)
	}
	return out
}

// TestJSONSchemas: every runnable command says what it prints with
// --json (Documents), and docs/schemas/ holds the schemas generated from
// those Go types (go test ./cmd/herd/internal/herdtools -run TestJSONSchemas
// -update rewrites them). Whether real outputs match is
// testdata/json-contract.txtar's part.
func TestJSONSchemas(t *testing.T) {
	docs := Documents()
	commands := JSONCommands()
	for _, c := range commands {
		if _, ok := docs[c]; !ok {
			t.Errorf("herd %s takes --json but Documents (herdtools/documents.go) does not say what it prints", c)
		}
	}
	for c := range docs {
		if !slices.Contains(commands, c) {
			t.Errorf("Documents has %q, which is no runnable herd command", c)
		}
	}
	dir := filepath.Join(moduleRoot, "docs", "schemas")
	want := generateSchemas(t)
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	have, _ := filepath.Glob(filepath.Join(dir, "herd-*.json"))
	for _, p := range have {
		if _, ok := want[filepath.Base(p)]; !ok {
			if *update {
				os.Remove(p)
				continue
			}
			t.Errorf("%s is the schema of no command: remove it (-update does)", p)
		}
	}
	for name, b := range want {
		p := filepath.Join(dir, name)
		if *update {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s is not what the Go types give: run go test ./cmd/herd/internal/herdtools -run TestJSONSchemas -update", p)
		}
	}
}

// TestJSONSchemasCatchAMistake: a document with a CamelCase key or a
// null list fails its schema (the schemas do constrain).
func TestJSONSchemasCatchAMistake(t *testing.T) {
	schemas := generateSchemas(t)
	var s docschema.Schema
	if err := json.Unmarshal(schemas[SchemaFile("cap list")], &s); err != nil {
		t.Fatal(err)
	}
	good, err := cmdutil.MarshalDoc(wire.CapList{})
	if err != nil {
		t.Fatal(err)
	}
	if err := docschema.Validate(&s, good); err != nil {
		t.Errorf("%s: %v", good, err)
	}
	for _, bad := range []string{`{"format":1,"caps":null}`, `{"format":1,"Caps":[]}`, `{"caps":[]}`} {
		if err := docschema.Validate(&s, []byte(bad)); err == nil {
			t.Errorf("%s: valid", bad)
		} else if !strings.Contains(err.Error(), "/") {
			t.Errorf("%s: %v (no JSON pointer)", bad, err)
		}
	}
}
