package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/docschema"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/herdtools"
)

// The JSON contract's script commands (testdata/json-contract.txtar):
// every document herd prints with --json is checked against its
// command's schema in docs/schemas/, and the script must show every
// command's every kind of document at least once.

// jsonSeen is, per script, the documents seen: "COMMAND\x00TITLE".
var jsonSeen sync.Map // *testscript.TestScript -> *seenDocs

type seenDocs struct {
	mu   sync.Mutex
	docs map[string]bool
}

func seenOf(ts *testscript.TestScript) *seenDocs {
	v, loaded := jsonSeen.LoadOrStore(ts, &seenDocs{docs: map[string]bool{}})
	if !loaded {
		ts.Defer(func() { jsonSeen.Delete(ts) })
	}
	return v.(*seenDocs)
}

// loadSchema reads a command's schema from docs/schemas/.
func loadSchema(ts *testscript.TestScript, command string) *docschema.Schema {
	dir, err := filepath.Abs("../../docs/schemas")
	ts.Check(err)
	b, err := os.ReadFile(filepath.Join(dir, herdtools.SchemaFile(command)))
	if err != nil {
		ts.Fatalf("herd %s: no schema (%v): say what it prints in herdtools.Documents and run go test ./cmd/herd/internal/herdtools -run TestJSONSchemas -update", command, err)
	}
	var s docschema.Schema
	ts.Check(json.Unmarshal(b, &s))
	return &s
}

// checkDocs checks that out is JSON lines (at least one) each valid
// against command's schema, and records which document each one is.
func checkDocs(ts *testscript.TestScript, command, out string) {
	s := loadSchema(ts, command)
	if !strings.HasSuffix(out, "\n") {
		ts.Fatalf("herd %s --json: output does not end with a newline: %q", command, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	seen := seenOf(ts)
	for i, l := range lines {
		if !strings.HasPrefix(l, `{"format":`) {
			ts.Fatalf("herd %s --json: line %d does not begin with format: %.200s", command, i+1, l)
		}
		if err := docschema.Validate(s, []byte(l)); err != nil {
			ts.Fatalf("herd %s --json: line %d does not match %s: %v\n%.2000s", command, i+1, herdtools.SchemaFile(command), err, l)
		}
		title := docschema.Match(s, []byte(l))
		isLine := false
		for _, v := range s.OneOf {
			if v.Title == title {
				isLine = v.XLine
			}
		}
		// A stream's lines may end with one document (fleet exec
		// --stream's run).
		if i < len(lines)-1 && !isLine {
			ts.Fatalf("herd %s --json: %d lines, but line %d is %q, a document, not a stream's line", command, len(lines), i+1, title)
		}
		seen.mu.Lock()
		seen.docs[command+"\x00"+title] = true
		seen.mu.Unlock()
	}
}

// herdjson ARGS...: run herd --json ARGS (! : expect a failure); its
// stdout must be documents of the command's schema and its stderr empty.
func cmdHerdJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: herdjson ARGS...")
	}
	// "" (no command: a usage error before one) has the error
	// document's schema alone.
	command := herdtools.CommandOf(args)
	err := ts.Exec("herd", append([]string{"--json"}, args...)...)
	switch {
	case err != nil && !neg:
		ts.Fatalf("herd --json %s: %v", strings.Join(args, " "), err)
	case err == nil && neg:
		ts.Fatalf("herd --json %s: succeeded, want a failure", strings.Join(args, " "))
	}
	if e := ts.ReadFile("stderr"); e != "" {
		ts.Fatalf("herd --json %s: wrote to stderr: %q", strings.Join(args, " "), e)
	}
	checkDocs(ts, command, ts.ReadFile("stdout"))
}

// jsonfile COMMAND FILE: FILE (the JSON lines of a stream, such as herd
// events --follow --json) matches herd COMMAND's schema.
func cmdJSONFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: jsonfile COMMAND FILE")
	}
	checkDocs(ts, args[0], ts.ReadFile(args[1]))
}

// jsoncovered: the script showed every document of every command that
// takes --json (an error document at least once, for any command).
func cmdJSONCovered(ts *testscript.TestScript, neg bool, args []string) {
	seen := seenOf(ts)
	seen.mu.Lock()
	defer seen.mu.Unlock()
	docs := herdtools.Documents()
	var missing []string
	for _, c := range herdtools.JSONCommands() {
		ds, ok := docs[c]
		if !ok {
			missing = append(missing, fmt.Sprintf("herd %s (no document in herdtools.Documents)", c))
			continue
		}
		if len(ds) == 0 && !slices.ContainsFunc(keys(seen.docs), func(k string) bool { return strings.HasPrefix(k, c+"\x00") }) {
			missing = append(missing, fmt.Sprintf("herd %s: any output", c))
		}
		for _, d := range ds {
			if !seen.docs[c+"\x00"+d.Title] {
				missing = append(missing, fmt.Sprintf("herd %s: %s", c, d.Title))
			}
		}
	}
	if !slices.ContainsFunc(keys(seen.docs), func(k string) bool { return strings.HasSuffix(k, "\x00error") }) {
		missing = append(missing, "an error document")
	}
	if len(missing) > 0 {
		ts.Fatalf("the script did not show these --json documents:\n  %s", strings.Join(missing, "\n  "))
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
