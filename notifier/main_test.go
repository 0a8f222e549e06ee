package notifier_test

import (
	"os"
	"testing"

	"github.com/shepherd-go/shepherd/internal/proc"
)

// TestMain lets the test binary serve as the trampoline of the daemons
// the tests start.
func TestMain(m *testing.M) {
	proc.RunTrampolineIfAsked()
	os.Exit(m.Run())
}
