package leftover

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// started runs sh -c script in a session of its own, as the daemon
// starts a service, and returns its record. Cleanup kills its session
// and whatever Find says is left of it.
func started(t *testing.T, script string) (*exec.Cmd, Record) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	boot, err := BootID()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ReadProc(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	r := Record{Service: "svc", BootID: boot, PID: p.PID, Start: p.Start, PGID: p.PGID, SID: p.SID, UID: uint32(os.Geteuid()), Command: []string{"sh", "-c", script}}
	t.Cleanup(func() {
		if tab, err := Scan(); err == nil {
			for _, p := range tab.Find(r, boot, NewGuard()).Procs() {
				syscall.Kill(p.PID, syscall.SIGKILL)
			}
		}
		syscall.Kill(-r.PID, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd, r
}

// waitFind scans until Find reports n processes (main included), and
// each of ok, if any, holds of what it found.
func waitFind(t *testing.T, r Record, n int, ok ...func(Found) bool) Found {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for {
		tab, err := Scan()
		if err != nil {
			t.Fatal(err)
		}
		f := tab.Find(r, r.BootID, NewGuard())
		good := len(f.Procs()) == n
		for _, c := range ok {
			good = good && c(f)
		}
		if good {
			return f
		}
		if time.Now().After(end) {
			t.Fatalf("Find found %d processes, want %d: %+v", len(f.Procs()), n, f)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFindsGroupSessionAndDescendants: the main process, a child in its
// group, and a child that left for a session of its own (a descendant
// by PPID) are all found.
func TestFindsGroupSessionAndDescendants(t *testing.T) {
	_, r := started(t, "sleep 1000 & setsid sleep 1000 & wait")
	// Found once the second child has left for a session of its own.
	f := waitFind(t, r, 3, func(f Found) bool {
		sids := map[int]bool{}
		for _, p := range f.Others {
			sids[p.SID] = true
		}
		return sids[r.PID] && len(sids) == 2
	})
	if f.Main == nil || f.Main.PID != r.PID {
		t.Fatalf("main: %+v, want process %d", f.Main, r.PID)
	}
}

// TestGroupOutlivesMain: once the main process is gone, what is left in
// its group is still found (no other process can take the number while
// the group lives).
func TestGroupOutlivesMain(t *testing.T) {
	cmd, r := started(t, "sleep 1000 & echo $! ; exec sleep 1000")
	f := waitFind(t, r, 2)
	syscall.Kill(r.PID, syscall.SIGKILL)
	cmd.Wait()
	f = waitFind(t, r, 1)
	if f.Main != nil || len(f.Others) != 1 || f.Others[0].PGID != r.PID {
		t.Fatalf("found %+v, want only the group member", f)
	}
}

// TestReusedPIDIsLeftAlone: a record whose PID now names another process
// (its start time differs) finds nothing, and that process's group and
// session are not looked into; Hold refuses it too.
func TestReusedPIDIsLeftAlone(t *testing.T) {
	_, r := started(t, "sleep 1000 & exec sleep 1000")
	waitFind(t, r, 2)
	stale := r
	stale.Start--
	tab, err := Scan()
	if err != nil {
		t.Fatal(err)
	}
	f := tab.Find(stale, r.BootID, NewGuard())
	if len(f.Procs()) != 0 {
		t.Fatalf("a record with another start time found %+v", f.Procs())
	}
	if len(f.Notes) != 1 || !strings.Contains(f.Notes[0], "its PID was reused") {
		t.Errorf("notes %q, want one saying the PID was reused", f.Notes)
	}
	p, _ := ReadProc(r.PID)
	p.Start--
	if _, err := Hold(p); !errors.Is(err, ErrNotSame) {
		t.Errorf("Hold of a process with another start time: %v, want ErrNotSame", err)
	}
}

// TestOtherBootFindsNothing: a record made before a reboot names nothing,
// even a live process with the same PID and start time.
func TestOtherBootFindsNothing(t *testing.T) {
	_, r := started(t, "exec sleep 1000")
	waitFind(t, r, 1)
	tab, _ := Scan()
	old := r
	old.BootID = "00000000-0000-4000-8000-000000000000"
	if f := tab.Find(old, r.BootID, NewGuard()); len(f.Procs()) != 0 || len(f.Notes) != 1 {
		t.Fatalf("a record of another boot found %+v (notes %q)", f.Procs(), f.Notes)
	}
}

// TestOtherUserIsLeftAlone: processes that do not run as the recorded
// user of a service (not root) are not taken.
func TestOtherUserIsLeftAlone(t *testing.T) {
	_, r := started(t, "exec sleep 1000")
	waitFind(t, r, 1)
	r.UID = uint32(os.Geteuid()) + 4242
	tab, _ := Scan()
	if f := tab.Find(r, r.BootID, NewGuard()); len(f.Procs()) != 0 || len(f.Notes) != 1 || !strings.Contains(f.Notes[0], "not as the service's uid") {
		t.Fatalf("found %+v (notes %q), want nothing", f.Procs(), f.Notes)
	}
}

// TestGuarded: a record naming the daemon itself (or its parent, or PID
// 1), with their true start times, finds nothing.
func TestGuarded(t *testing.T) {
	boot, _ := BootID()
	for _, pid := range []int{os.Getpid(), os.Getppid(), 1} {
		p, err := ReadProc(pid)
		if err != nil {
			t.Fatal(err)
		}
		r := Record{Service: "svc", BootID: boot, PID: pid, Start: p.Start, PGID: p.PGID, SID: p.SID}
		tab, _ := Scan()
		for _, q := range tab.Find(r, boot, NewGuard()).Procs() {
			if q.PID == pid || q.PID == os.Getpid() || q.PID == os.Getppid() || q.PID == 1 {
				t.Errorf("a record of process %d found the guarded process %d", pid, q.PID)
			}
		}
	}
}

// ignoresTERM waits until each process of f ignores SIGTERM (its shell
// has run its trap).
func ignoresTERM(t *testing.T, f Found) {
	t.Helper()
	for _, p := range f.Procs() {
		end := time.Now().Add(20 * time.Second)
		for {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
			var mask uint64
			for line := range strings.SplitSeq(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "SigIgn:"); ok {
					mask, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
				}
			}
			if mask&(1<<(syscall.SIGTERM-1)) != 0 {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("process %d does not ignore SIGTERM", p.PID)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestStop: the stop signal ends what obeys it, SIGKILL what ignores it.
func TestStop(t *testing.T) {
	_, obeys := started(t, "exec sleep 1000")
	_, ignores := started(t, "trap '' TERM; exec sleep 1000")
	var groups []StopGroup
	ignoresTERM(t, waitFind(t, ignores, 1))
	for _, r := range []Record{obeys, ignores} {
		f := waitFind(t, r, 1)
		h, err := Hold(*f.Main)
		if err != nil {
			t.Fatal(err)
		}
		groups = append(groups, StopGroup{Service: fmt.Sprint(r.PID), Procs: []*Held{h}, Timeout: 200 * time.Millisecond, KillWait: 10 * time.Second})
	}
	out := Stop(groups)
	if !slices.Equal(out[0].Ended, []int{obeys.PID}) || len(out[0].Killed)+len(out[0].Survived) > 0 {
		t.Errorf("the process that obeys SIGTERM: %+v", out[0])
	}
	if !slices.Equal(out[1].Killed, []int{ignores.PID}) || len(out[1].Ended)+len(out[1].Survived) > 0 {
		t.Errorf("the process that ignores SIGTERM: %+v", out[1])
	}
}

func TestDecodeRecord(t *testing.T) {
	boot := "0f1e2d3c-4b5a-4697-8877-665544332211"
	good := Record{Service: "web", BootID: boot, PID: 42, Start: 7, PGID: 42, SID: 42, Command: []string{"x"}, StopSignal: syscall.SIGTERM, StopTimeout: time.Second}
	if r, err := DecodeRecord(good.Encode()); err != nil || r.PID != 42 || r.StopSignal != syscall.SIGTERM {
		t.Fatalf("good record: %+v, %v", r, err)
	}
	for name, bad := range map[string]func(*Record){
		"no service":     func(r *Record) { r.Service = "" },
		"bad boot id":    func(r *Record) { r.BootID = "../../etc" },
		"negative PID":   func(r *Record) { r.PID = -1 },
		"huge PID":       func(r *Record) { r.PID = 1 << 30 },
		"no start time":  func(r *Record) { r.Start = 0 },
		"bad signal":     func(r *Record) { r.StopSignal = 99 },
		"negative group": func(r *Record) { r.PGID = -5 },
		"long timeout":   func(r *Record) { r.StopTimeout = 1000 * time.Hour },
	} {
		r := good
		bad(&r)
		if _, err := DecodeRecord(r.Encode()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := DecodeRecord([]byte("{not json")); err == nil {
		t.Error("not JSON: accepted")
	}
}
