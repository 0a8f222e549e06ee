package systemd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shepherd-go/shepherd/importer/importertest"
)

// FuzzSystemd: whatever a unit file holds, Import does not panic, and
// what it writes loads with the configuration loader.
func FuzzSystemd(f *testing.F) {
	files, _ := filepath.Glob("testdata/debian/*.service")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(filepath.Base(p), data)
	}
	f.Add("t@i.service", []byte("[Unit]\nRequires=t@i.service a.target\n[Service]\nExecStart=-@/bin/x \"a\\x41\" ${A} $B %i %H\nEnvironment=\"A=1 2\"\nLimitNOFILE=1:2\nType=oneshot\n[Install]\nAlias=x.service\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		r := Import([]Unit{{Name: name, File: File{Path: "fuzz.service", Data: data}}})
		out, err := r.YAML()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := importertest.Loads("fuzz.yaml", out); err != nil {
			t.Fatalf("%v\n--- from %q:\n%s\n--- wrote:\n%s", err, name, data, out)
		}
	})
}
