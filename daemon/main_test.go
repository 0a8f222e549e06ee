package daemon

import (
	"os"
	"testing"

	"github.com/shepherd-go/shepherd/internal/proc"
)

// TestMain lets the test binary serve as the trampoline when a daemon
// started by a test re-executes it (os.Executable is the test binary).
func TestMain(m *testing.M) {
	proc.RunTrampolineIfAsked()
	os.Exit(m.Run())
}
