package proc

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlyTheReaperWaits keeps design §5's rule for the whole module:
// exactly one place calls wait4 (reap.go), and no code the daemon runs
// starts or waits for processes through os/exec. Tools that are not the
// daemon (the bench and its bare fork/exec baseline, the tests' sshd,
// make deb's packaging/mkdeb, which runs go list and dpkg-deb) may.
func TestOnlyTheReaperWaits(t *testing.T) {
	root := filepath.Join("..", "..")
	mayExec := []string{"bench", filepath.Join("internal", "testsshd"), filepath.Join("internal", "fleetsim", "launch"), "packaging"}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") && rel != "." || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(b)
		for _, dir := range mayExec {
			if strings.HasPrefix(rel, dir+string(filepath.Separator)) {
				return nil
			}
		}
		if strings.Contains(src, "Wait4(") && rel != filepath.Join("internal", "proc", "reap.go") {
			t.Errorf("%s calls Wait4: only internal/proc/reap.go may", rel)
		}
		for _, banned := range []string{`"os/exec"`, "os.StartProcess", "Process.Wait"} {
			if strings.Contains(src, banned) {
				t.Errorf("%s uses %s: children are reaped only by internal/proc/reap.go", rel, banned)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
