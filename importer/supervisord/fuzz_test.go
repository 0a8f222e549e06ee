package supervisord

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shepherd-go/shepherd/importer/importertest"
)

// FuzzSupervisord: whatever a supervisord.conf holds, Import does not
// panic, and what it writes loads with the configuration loader.
func FuzzSupervisord(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Add([]byte("[program:w]\ncommand=/bin/w %(process_num)02d '%(ENV_X)s'\nprocess_name=w%(process_num)d\nnumprocs=2\nenvironment=A=\"1,2\",B=3\nstdout_logfile_maxbytes=1KB\n"))
	opt := Options{Env: func(string) (string, bool) { return "v", true }, Hostname: "h"}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Import("fuzz.conf", data, opt)
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
