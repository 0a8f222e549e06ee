package proc

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// startGroup starts a shell that leaves a sleep in its group and becomes
// a sleep itself: it returns the leader's PID, its handle and the PID of
// the member it left.
func startGroup(t *testing.T) (int, *Handle, int) {
	t.Helper()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	pid, out, h, err := Start(Spec{Path: "/bin/sh", Argv: []string{"sh", "-c", "sleep 3600 & echo $!; exec sleep 3600"}, Stdin: devNull})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	f := os.NewFile(uintptr(out), "output")
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	member, cerr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || cerr != nil {
		t.Fatalf("member's PID: %q %v %v", line, err, cerr)
	}
	t.Cleanup(func() {
		// Both are gone by now, or still ours: nothing else has their PIDs.
		syscall.Kill(member, syscall.SIGKILL)
		syscall.Kill(pid, syscall.SIGKILL)
		var ws syscall.WaitStatus
		syscall.Wait4(pid, &ws, 0, nil)
	})
	return pid, h, member
}

// gone waits until pid has ended (a zombie of another parent counts).
func gone(t *testing.T, pid int) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if p, err := ReadProcStat(pid); err != nil || p.State == 'Z' {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("process %d did not end", pid)
		}
	}
}

func reap(t *testing.T, pid int) {
	t.Helper()
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
}

// TestHandleSignalGroup: a handle's group signal reaches the group while
// its leader lives and, with PIDFD_SIGNAL_PROCESS_GROUP, what the leader
// left in it after its reap; by number (kernels before 6.9) a reaped
// leader's group is not signalled at all, since the number may be
// another's. Nothing is signalled through the handle of a reaped process.
func TestHandleSignalGroup(t *testing.T) {
	for _, tc := range []struct {
		name     string
		byNumber bool
		// reaped: the leader is killed alone and reaped first.
		reaped bool
		// wantErr is SignalGroup's error; memberKilled whether the
		// member left in the group gets the signal.
		wantErr      error
		memberKilled bool
	}{
		{name: "pidfd/leader alive", memberKilled: true},
		{name: "pidfd/leader reaped", reaped: true, memberKilled: true},
		{name: "by number/leader alive", byNumber: true, memberKilled: true},
		{name: "by number/leader reaped", byNumber: true, reaped: true, wantErr: ErrGroupUnsafe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.byNumber {
				groupSignals.Store(false)
				defer groupSignals.Store(true)
			}
			pid, h, member := startGroup(t)
			if !tc.byNumber {
				if err := unix.PidfdSendSignal(h.FD(), 0, nil, unix.PIDFD_SIGNAL_PROCESS_GROUP); errors.Is(err, unix.EINVAL) {
					t.Skip("this kernel lacks PIDFD_SIGNAL_PROCESS_GROUP (Linux 6.9)")
				}
			}
			if tc.reaped {
				syscall.Kill(pid, syscall.SIGKILL)
				reap(t, pid)
			}
			if err := h.SignalGroup(unix.SIGKILL); !errors.Is(err, tc.wantErr) {
				t.Fatalf("SignalGroup: %v, want %v", err, tc.wantErr)
			}
			if !tc.reaped {
				reap(t, pid)
			}
			if tc.memberKilled {
				gone(t, member)
			} else if p, err := ReadProcStat(member); err != nil || p.State == 'Z' {
				t.Fatalf("member %d was signalled: %+v %v", member, p, err)
			}
			if err := h.Signal(0); !errors.Is(err, unix.ESRCH) {
				t.Errorf("signal through the handle of a reaped process: %v, want ESRCH", err)
			}
		})
	}
}

// TestHandleSignalsAProcessThatLeadsNoGroup: a process that leads no group
// (a daemonized process named by a PID file need not) gets a group
// signal alone; its group's leader does not.
func TestHandleSignalsAProcessThatLeadsNoGroup(t *testing.T) {
	for _, byNumber := range []bool{false, true} {
		t.Run(map[bool]string{false: "pidfd", true: "by number"}[byNumber], func(t *testing.T) {
			if byNumber {
				groupSignals.Store(false)
				defer groupSignals.Store(true)
			}
			leader, _, member := startGroup(t)
			fd, err := unix.PidfdOpen(member, 0)
			if err != nil {
				t.Fatal(err)
			}
			h := newHandle(member, fd, false)
			defer h.Close()
			if err := h.SignalGroup(unix.SIGKILL); err != nil {
				t.Fatal(err)
			}
			gone(t, member)
			if p, err := ReadProcStat(leader); err != nil || p.State == 'Z' {
				t.Errorf("the group's leader was signalled: %+v %v", p, err)
			}
		})
	}
}
