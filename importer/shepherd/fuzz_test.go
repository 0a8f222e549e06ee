package shepherd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shepherd-go/shepherd/importer/importertest"
)

// FuzzShepherd: whatever a Scheme configuration holds, Import does not
// panic, and what it writes loads with the configuration loader.
func FuzzShepherd(f *testing.F) {
	files, _ := filepath.Glob("testdata/manual/*.scm")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Add([]byte(`(define c '("/bin/c")) (service '(a b) #:requirement '(b c) #:start (make-forkexec-constructor c #:environment-variables (cons "A=1" (default-environment-variables)) #:resource-limits '((nofile 1 2))) #:actions (actions (r (lambda (p) (kill p SIGHUP)))) #:respawn-limit '(1 . 2)) (shepherd-service (provision '(c)) (requirement '(a)))`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Import("fuzz.scm", data)
		if err != nil {
			return
		}
		out, err := r.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := importertest.Loads("fuzz.yaml", out); err != nil {
			t.Fatalf("%v\n--- from:\n%s\n--- wrote:\n%s", err, data, out)
		}
	})
}
