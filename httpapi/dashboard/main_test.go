package dashboard_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/daemon"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// exporterEnv makes the test binary an exporting daemon (runExporter).
const exporterEnv = "SHEPHERD_DASHBOARD_TEST_EXPORTER"

// TestMain lets the test binary serve as the trampoline of the daemons
// the tests start (os.Executable is the test binary), and as another
// daemon whose services the test's daemon imports.
func TestMain(m *testing.M) {
	proc.RunTrampolineIfAsked()
	if dir := os.Getenv(exporterEnv); dir != "" {
		os.Exit(runExporter(dir))
	}
	os.Exit(m.Run())
}

// runExporter runs a daemon on dir/services.yaml until SIGTERM. It is a
// process of its own: each daemon has a reaper that waits for any child
// of its process, so a second daemon in the test's process could take
// the exits of the first one's services.
func runExporter(dir string) int {
	d, err := daemon.Start(daemon.Options{ConfigPath: filepath.Join(dir, "services.yaml"), SocketPath: filepath.Join(dir, "run", "socket"),
		StateDir: filepath.Join(dir, "state"), SocketGroup: -1, Log: io.Discard, NotSubreaper: true, NoCgroup: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	d.Shutdown()
	return 0
}

// startExporter starts the test binary as a daemon serving config and
// returns its socket; stop ends it (and waits for it).
func startExporter(t *testing.T, config string) (socket string, stop func()) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "services.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), exporterEnv+"="+dir)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := false
	stop = func() {
		if done {
			return
		}
		done = true
		cmd.Process.Signal(syscall.SIGTERM)
		// The test's daemon may have reaped it (its reaper waits for any
		// child): Wait then fails, and the exit is gone either way.
		cmd.Wait()
	}
	t.Cleanup(stop)
	socket = filepath.Join(dir, "run", "socket")
	waitFor(t, "the exporter's services", time.Minute, func() bool {
		var all wire.StatusAll
		return tryCall(socket, wire.Request{Action: "status"}, &all) == nil && len(all.Services) > 0
	})
	return socket, stop
}
