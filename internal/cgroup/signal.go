package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// Signal sends sig to every process in cgroup dir and the cgroups below
// it (herd kill --kill-whom=all), and returns the PIDs it reached. A PID
// read from cgroup.procs names its process only while it is listed there:
// once that process exits and is reaped, the number may go to any new
// process. So each one is signalled through a pidfd opened while it was
// listed, and only if it is still listed after the pidfd was opened: then
// the pidfd names a process of the cgroup (one that exits meanwhile
// takes nothing, ESRCH), never a stranger that reused its number. On a
// kernel without pidfds (before 5.3) it signals by number, as Kill does.
func Signal(dir string, sig unix.Signal) ([]int, error) {
	var sent []int
	dirs := []string{dir}
	for len(dirs) > 0 {
		d := dirs[0]
		dirs = dirs[1:]
		pids, err := signalOne(d, sig)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && d != dir {
				continue // removed meanwhile
			}
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil // no cgroup: nothing runs
			}
			return sent, fmt.Errorf("signal cgroup %s: %w", d, err)
		}
		sent = append(sent, pids...)
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if e.IsDir() {
				dirs = append(dirs, filepath.Join(d, e.Name()))
			}
		}
	}
	slices.Sort(sent)
	return sent, nil
}

// signalOne signals the processes of cgroup dir itself.
func signalOne(dir string, sig unix.Signal) ([]int, error) {
	listed, err := Procs(dir)
	if err != nil || len(listed) == 0 {
		return nil, err
	}
	fds := make(map[int]int, len(listed))
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	byNumber := false
	for _, pid := range listed {
		fd, err := unix.PidfdOpen(pid, 0)
		switch {
		case err == nil:
			fds[pid] = fd
		case errors.Is(err, unix.ENOSYS):
			byNumber = true
		}
	}
	still, err := Procs(dir)
	if err != nil {
		return nil, err
	}
	var sent []int
	for _, pid := range still {
		var err error
		if fd, ok := fds[pid]; ok {
			err = unix.PidfdSendSignal(fd, sig, nil, 0)
		} else if byNumber {
			// No pidfds: the number, while the cgroup lists it, is
			// its process (or a zombie, which takes it harmlessly).
			err = unix.Kill(pid, sig)
		} else {
			continue // listed only since: the next herd kill reaches it
		}
		if err == nil {
			sent = append(sent, pid)
		}
	}
	return sent, nil
}
