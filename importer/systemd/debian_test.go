package systemd

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/importer/importertest"
)

// TestDebianUnits imports the unit files Debian's nginx, redis-server,
// openssh-server and cron packages install (testdata/debian/README says
// from where), compares the result with its golden file (warnings
// included, as comments) and loads it with the configuration loader.
func TestDebianUnits(t *testing.T) {
	for _, tc := range []struct {
		golden string
		units  []string
	}{
		{"nginx.yaml", []string{"nginx.service"}},
		{"redis-server.yaml", []string{"redis-server.service"}},
		{"redis-server@main.yaml", []string{"redis-server@main.service"}},
		{"redis-server@.yaml", []string{"redis-server@.service"}},
		{"ssh.yaml", []string{"ssh.service", "ssh.socket"}},
		{"cron.yaml", []string{"cron.service"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var paths []string
			for _, u := range tc.units {
				paths = append(paths, filepath.Join("testdata", "debian", u))
			}
			units, err := ReadUnits(paths)
			if err != nil {
				t.Fatal(err)
			}
			r := Import(units)
			out, err := r.YAML()
			if err != nil {
				t.Fatal(err)
			}
			importertest.Golden(t, filepath.Join("golden", tc.golden), out)
			for _, w := range r.Warnings {
				if !strings.HasPrefix(w.File, "testdata/debian/") || w.Line < 1 {
					t.Errorf("warning without a source line: %+v", w)
				}
			}
			importertest.Load(t, tc.golden, out)
		})
	}
}
