package supervisord

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/importer/importertest"
)

// TestSupervisorDocs imports supervisor's own sample configuration and
// the examples of its documentation (testdata/README says from where),
// compares the result with its golden file (warnings included, as
// comments) and loads it with the configuration loader.
func TestSupervisorDocs(t *testing.T) {
	for _, name := range []string{"sample", "docs", "subprocess"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join("testdata", name+".conf")
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Import(file, data, Options{Hostname: "example"})
			if err != nil {
				t.Fatal(err)
			}
			out, err := r.YAML()
			if err != nil {
				t.Fatal(err)
			}
			importertest.Golden(t, filepath.Join("golden", name+".yaml"), out)
			for _, w := range r.Warnings {
				if w.File != file || w.Line < 1 {
					t.Errorf("warning without its source line: %+v", w)
				}
				if strings.Contains(w.Message, "%!") {
					t.Errorf("a badly formatted warning: %+v", w)
				}
			}
			importertest.Load(t, name+".yaml", out)
		})
	}
}
