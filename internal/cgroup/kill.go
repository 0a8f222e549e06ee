package cgroup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// OpenDir opens cgroup dir for placing a child in it at fork
// (SysProcAttr.UseCgroupFD): O_PATH would not do, clone3 wants a real
// open file. The caller closes it.
func OpenDir(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	return fd, nil
}

// Kill sends SIGKILL to every process in cgroup dir and its children:
// through cgroup.kill (Linux 5.14), else to every PID of cgroup.procs
// until none is left, since a process may fork while it is being killed.
// It reports whether there was anything to kill: an empty or missing
// cgroup is left alone (and need not be made anew, see Renew).
func Kill(dir string) (bool, error) {
	if busy, err := Populated(dir); err == nil && !busy {
		return false, nil
	}
	err := os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist) && !exists(dir):
		return false, nil
	case !errors.Is(err, os.ErrNotExist) && !errors.Is(err, os.ErrPermission):
		return true, fmt.Errorf("kill cgroup %s: %w", dir, err)
	}
	return true, killEach(dir, time.Now().Add(killEachFor))
}

// killEachFor bounds the killing by PID: a fork bomb that outruns it is
// left to the caller's wait, which reports what is left.
const killEachFor = 2 * time.Second

func killEach(dir string, deadline time.Time) error {
	for {
		pids, err := allProcs(dir)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("kill cgroup %s: %w", dir, err)
		}
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			// The PID is the process's as long as it is in the cgroup;
			// a zombie listed a moment longer takes the signal harmlessly.
			unix.Kill(pid, unix.SIGKILL)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kill cgroup %s: processes still forking after %v", dir, killEachFor)
		}
		time.Sleep(time.Millisecond)
	}
}

// allProcs is the PIDs of dir and of every cgroup below it.
func allProcs(dir string) ([]int, error) {
	pids, err := Procs(dir)
	if err != nil {
		return nil, err
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			sub, err := allProcs(filepath.Join(dir, e.Name()))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			pids = append(pids, sub...)
		}
	}
	return pids, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Populated says whether cgroup dir (or one below it) holds a process:
// the `populated` line of cgroup.events. A missing cgroup is empty.
func Populated(dir string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	if errors.Is(err, os.ErrNotExist) {
		if !exists(dir) {
			return false, nil
		}
		// No cgroup.events (a v1 hierarchy): look at the processes.
		pids, err := allProcs(dir)
		return len(pids) > 0, err
	}
	if err != nil {
		return false, err
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("populated ")); ok {
			return string(v) != "0", nil
		}
	}
	return false, fmt.Errorf("%s/cgroup.events has no populated line", dir)
}

// NotEmptyError says a cgroup still held processes when the wait for its
// emptiness ended.
type NotEmptyError struct {
	Dir   string
	After time.Duration
	PIDs  []int
}

func (e *NotEmptyError) Error() string {
	return fmt.Sprintf("cgroup %s is not empty after %v: %d process(es) left %v", e.Dir, e.After, len(e.PIDs), e.PIDs)
}

// WaitEmpty waits until cgroup dir is empty, or until ctx ends (its
// deadline bounds the wait). It polls cgroup.events, quickly at first
// (a killed cgroup empties within a millisecond or two), then every
// 20ms: one watch per wait would need an inotify instance each, and a
// stop of a thousand services runs a thousand waits at once, far past
// the default limit of 128 instances. When ctx ends first it returns a
// *NotEmptyError naming what is left.
func WaitEmpty(ctx context.Context, dir string) (time.Duration, error) {
	start := time.Now()
	pause := 100 * time.Microsecond
	for {
		busy, err := Populated(dir)
		if err != nil {
			return time.Since(start), err
		}
		if !busy {
			return time.Since(start), nil
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			waited := time.Since(start).Round(time.Millisecond)
			pids, _ := allProcs(dir)
			if len(pids) == 0 {
				return waited, nil // emptied meanwhile
			}
			return waited, &NotEmptyError{Dir: dir, After: waited, PIDs: pids}
		case <-t.C:
		}
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// Renew removes the cgroup of service name once a kill emptied it, so
// that the next spawn (Create) makes it anew. A cgroup whose cgroup.kill
// was written kills every process cloned into it later with
// CLONE_INTO_CGROUP: seen on Linux 6.18, where the fork compares the kill
// counter of the parent's cgroup with the target's, which the kill
// raised for good. A new cgroup starts with none. The v1 mirrors stay:
// they have no such counter, and they keep their limits.
func (t *Tree) Renew(name string) error {
	return rmdir(t.Dir(name))
}
