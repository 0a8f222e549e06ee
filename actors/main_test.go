package actors

import (
	"os"
	"testing"
)

// TestMain lets the test binary serve as the trampoline when a daemon
// started by a test re-executes it (os.Executable is the test binary).
func TestMain(m *testing.M) {
	RunTrampolineIfAsked()
	os.Exit(m.Run())
}
