package version

import (
	"os"
	"os/exec"
	"testing"
)

// dpkgLess says whether Debian version a sorts before b, as dpkg
// --compare-versions says. Without dpkg (outside CI) the test is skipped.
func dpkgLess(t *testing.T, a, b string) bool {
	t.Helper()
	if _, err := exec.LookPath("dpkg"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("dpkg is needed to check the order of Debian versions")
		}
		t.Skip("no dpkg: cannot check the order of Debian versions")
	}
	err := exec.Command("dpkg", "--compare-versions", a, "lt", b).Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return err == nil
}
