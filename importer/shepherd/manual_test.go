package shepherd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/importer/importertest"
)

// TestManualExamples imports the example configurations of GNU
// Shepherd's manual (testdata/manual, each with its source and license),
// compares the result with its golden file (warnings included, as
// comments) and loads it with the configuration loader.
func TestManualExamples(t *testing.T) {
	files, err := filepath.Glob("testdata/manual/*.scm")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".scm")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Import(file, data)
			if err != nil {
				t.Fatal(err)
			}
			out, err := r.YAML()
			if err != nil {
				t.Fatal(err)
			}
			importertest.Golden(t, filepath.Join("golden", name+".yaml"), out)
			for _, w := range r.Warnings {
				if w.File != file || w.Line < 1 || w.Col < 1 {
					t.Errorf("warning without its source line and column: %+v", w)
				}
			}
			importertest.Load(t, name+".yaml", out)
		})
	}
}
