package cgroup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shepherd-go/shepherd/services"
)

func testTree(t *testing.T) *Tree {
	t.Helper()
	parent := testRoot(t)
	tr, err := Setup(Options{Dir: filepath.Join(parent, "root")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		prev, _ := Previous(tr.Root)
		for name := range prev {
			Kill(tr.Dir(name))
			waitEmpty(tr.Dir(name))
			tr.Remove(name)
		}
		tr.Close() // the v1 mirrors are not under the test's v2 cgroup
	})
	return tr
}

func TestSetupOptions(t *testing.T) {
	if _, err := Setup(Options{Disabled: true}); err == nil || err.Error() != "disabled by --no-cgroup" {
		t.Errorf("--no-cgroup: %v", err)
	}
	if _, err := Setup(Options{Dir: "/tmp/x"}); err == nil || !strings.Contains(err.Error(), "is not a cgroup under the cgroup2 mount") {
		t.Errorf("--cgroup outside the mount: %v", err)
	}
	tr := testTree(t)
	if !strings.HasPrefix(tr.Mode(), "cgroup v2 at "+tr.Root+" (") {
		t.Errorf("mode %q", tr.Mode())
	}
	// Setup again (a re-exec, a restart) finds the same root.
	again, err := Setup(Options{Dir: tr.Root})
	if err != nil || again.Root != tr.Root {
		t.Fatalf("setup again: %v, %v", again, err)
	}
	t.Logf("mode: %s; missing: %v", tr.Mode(), tr.Missing)
}

// A service's processes, escaped ones included, are killed as a whole,
// the wait ends when the cgroup is empty, and the cgroup can then go.
func TestKillWaitRemove(t *testing.T) {
	tr := testTree(t)
	p, err := tr.Create("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	// A double fork into a new session: not our child, not our group.
	ready := filepath.Join(t.TempDir(), "ready")
	startIn(t, p.Dir, "sh", "-c", `setsid sh -c 'sleep 60 & sleep 60 & echo > `+ready+`; wait' & wait`)
	waitFor(t, func() bool { _, err := os.Stat(ready); return err == nil })
	st, err := tr.Read("web")
	if err != nil || st.Tasks != 4 {
		t.Fatalf("stats %+v, %v (want 4 tasks)", st, err)
	}
	if err := tr.Remove("web"); err == nil {
		t.Fatal("a populated cgroup was removed")
	}
	if killed, err := Kill(p.Dir); err != nil || !killed {
		t.Fatalf("killed %v, %v", killed, err)
	}
	if _, err := waitEmpty(p.Dir); err != nil {
		t.Fatal(err)
	}
	if pids, _ := Procs(p.Dir); len(pids) != 0 {
		t.Fatalf("left: %v", pids)
	}
	if err := tr.Remove("web"); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if exists(tr.Root) {
		t.Error("the root stays after Close")
	}
}

// Without cgroup.kill (before Linux 5.14) every PID is killed until
// none is left.
func TestKillEach(t *testing.T) {
	tr := testTree(t)
	p, _ := tr.Create("web", nil)
	ready := filepath.Join(t.TempDir(), "ready")
	startIn(t, p.Dir, "sh", "-c", `sleep 60 & sleep 60 & echo > `+ready+`; wait`)
	waitFor(t, func() bool { _, err := os.Stat(ready); return err == nil })
	if err := killEach(p.Dir, time.Now().Add(testWait)); err != nil {
		t.Fatal(err)
	}
	if _, err := waitEmpty(p.Dir); err != nil {
		t.Fatal(err)
	}
}

// A wait that times out says what is left.
func TestWaitEmptyTimesOut(t *testing.T) {
	tr := testTree(t)
	p, _ := tr.Create("web", nil)
	cmd := startIn(t, p.Dir, "sleep", "60")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := WaitEmpty(ctx, p.Dir)
	var ne *NotEmptyError
	if !errors.As(err, &ne) || len(ne.PIDs) != 1 || ne.PIDs[0] != cmd.Process.Pid {
		t.Fatalf("err %v", err)
	}
	if !strings.Contains(err.Error(), "is not empty after ") || !strings.Contains(err.Error(), ": 1 process(es) left") {
		t.Errorf("message %q", err)
	}
}

// pids-max bounds a fork loop, through the v2 controller or the cgroup
// v1 hierarchy (this machine's: the process enters it itself, as the
// trampoline does).
func TestPidsMax(t *testing.T) {
	tr := testTree(t)
	if tr.Support().Controllers["pids"] == "" {
		t.Skipf("no pids controller: %s", tr.Missing["pids"])
	}
	lim := services.CgroupLimits{PidsMax: 5, Pos: map[string]services.Pos{"pids-max": {}}}
	p, err := tr.Create("bomb", &lim)
	if err != nil {
		t.Fatal(err)
	}
	enter := ""
	for _, f := range p.V1 {
		enter += "echo 0 > " + f + "; "
	}
	done := filepath.Join(t.TempDir(), "done")
	// dash gives up at the first fork that fails; perl (Debian's
	// perl-base) goes on trying.
	startIn(t, p.Dir, "sh", "-c", enter+`exec perl -e 'for (1..30) { my $p = fork; if (defined $p && $p == 0) { exec "sleep", "60" } } open(F, ">", "`+done+`"); close F; sleep 60'`)
	waitFor(t, func() bool { _, err := os.Stat(done); return err == nil })
	st, _ := tr.Read("bomb")
	if st.Tasks > 5 || st.Tasks < 2 {
		t.Fatalf("%d tasks with pids-max 5", st.Tasks)
	}
	Kill(p.Dir)
	if _, err := waitEmpty(p.Dir); err != nil {
		t.Fatal(err)
	}
	if err := tr.Remove("bomb"); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// After a kill, the cgroup is made anew, and a process started in it
// lives (on Linux 6.18 it would be killed at once in the killed one).
func TestSpawnAfterKill(t *testing.T) {
	tr := testTree(t)
	for i := range 3 {
		p, err := tr.Create("web", nil)
		if err != nil {
			t.Fatal(err)
		}
		cmd := startIn(t, p.Dir, "sleep", "60")
		waitFor(t, func() bool { pids, _ := Procs(p.Dir); return len(pids) == 1 })
		if killed, err := Kill(p.Dir); err != nil || !killed {
			t.Fatalf("killed %v, %v", killed, err)
		}
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("run %d: %v, want killed by the cgroup's kill", i, err)
		}
		if _, err := waitEmpty(p.Dir); err != nil {
			t.Fatal(err)
		}
		if err := tr.Renew("web"); err != nil {
			t.Fatal(err)
		}
	}
}

// Signal reaches every process of the cgroup, those of a cgroup below it
// too, and no other.
func TestSignal(t *testing.T) {
	tr := testTree(t)
	p, _ := tr.Create("web", nil)
	other, _ := tr.Create("other", nil)
	sub := filepath.Join(p.Dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Each shell writes a file when it gets SIGUSR1, then exits.
	shell := func(name string) string {
		return `trap "echo > ` + dir + `/` + name + `; exit 0" USR1; echo > ` + dir + `/ready-` + name + `; while :; do sleep 0.01; done`
	}
	startIn(t, p.Dir, "sh", "-c", shell("outer"))
	startIn(t, sub, "sh", "-c", shell("inner"))
	outsider := startIn(t, other.Dir, "sh", "-c", shell("outsider"))
	for _, f := range []string{"ready-outer", "ready-inner", "ready-outsider"} {
		waitFor(t, func() bool { _, err := os.Stat(filepath.Join(dir, f)); return err == nil })
	}
	pids, err := Signal(p.Dir, unix.SIGUSR1)
	if err != nil || len(pids) < 2 {
		t.Fatalf("Signal: %v, %v (want the two shells at least)", pids, err)
	}
	for _, f := range []string{"inner", "outer"} {
		waitFor(t, func() bool { _, err := os.Stat(filepath.Join(dir, f)); return err == nil })
	}
	if slices.Contains(pids, outsider.Process.Pid) {
		t.Errorf("the process outside the cgroup was signalled: %v", pids)
	}
	if _, err := os.Stat(filepath.Join(dir, "outsider")); err == nil {
		t.Error("the process outside the cgroup got the signal")
	}
	// A missing cgroup: nothing to signal, no error.
	if pids, err := Signal(filepath.Join(p.Dir, "nosuch"), unix.SIGUSR1); err != nil || len(pids) != 0 {
		t.Errorf("missing cgroup: %v, %v", pids, err)
	}
	Kill(p.Dir)
	waitEmpty(p.Dir)
	os.Remove(sub)
}
