package notify

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxAncestors bounds the walk up the process tree.
const maxAncestors = 4096

// CheckSender says whether a datagram with credentials cred comes from a
// process of the service rule describes (see Rule); the error says why
// not. A sender that is already gone cannot be placed, and is refused,
// unless it was the main or the first process.
func CheckSender(cred unix.Ucred, rule Rule) error {
	pid := int(cred.Pid)
	switch {
	case cred.Uid != rule.UID:
		return fmt.Errorf("process %d runs as uid %d, not as the service's uid %d", pid, cred.Uid, rule.UID)
	case pid <= 0:
		return fmt.Errorf("the sender's PID is not known")
	case rule.MainPID == 0:
		return fmt.Errorf("the service has no process")
	case pid == rule.MainPID || pid == rule.Session:
		// The main process, or the first one (the session's leader, which
		// the daemon started): named by the kernel when it sent, so heard
		// even if it has since ended and been reaped, as a launcher that
		// says MAINPID= and READY=1 and exits at once often has.
		return nil
	}
	if rule.Cgroup != "" {
		cg, err := cgroupOf(pid)
		if err != nil {
			return fmt.Errorf("process %d: %v", pid, err)
		}
		if cg != rule.Cgroup && !strings.HasPrefix(cg, strings.TrimSuffix(rule.Cgroup, "/")+"/") {
			return fmt.Errorf("process %d is in cgroup %s, not in the service's %s", pid, cg, rule.Cgroup)
		}
		return nil
	}
	ppid, session, err := stat(pid)
	if err != nil {
		return fmt.Errorf("process %d is gone: it cannot be told from others", pid)
	}
	if rule.Session > 0 && session == rule.Session {
		return nil
	}
	self := os.Getpid()
	for i := 0; ppid > 1 && i < maxAncestors; i++ {
		if ppid == rule.MainPID {
			return nil
		}
		if ppid == self {
			break // the daemon: above every service
		}
		if ppid, _, err = stat(ppid); err != nil {
			break
		}
	}
	return fmt.Errorf("process %d is not one of the service's (main process %d)", pid, rule.MainPID)
}

// stat reads the parent and the session of a process from /proc/PID/stat.
func stat(pid int) (ppid, session int, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// pid (comm) state ppid pgrp session ...: comm may hold anything;
	// fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	if f[0] == "Z" || f[0] == "X" {
		return 0, 0, fmt.Errorf("process %d has ended", pid)
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, err
	}
	session, err = strconv.Atoi(f[3])
	return ppid, session, err
}

// cgroupOf is the cgroup v2 path of a process ("0::PATH" in
// /proc/PID/cgroup).
func cgroupOf(pid int) (string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return "", fmt.Errorf("is gone: it cannot be told from others")
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("has no cgroup v2")
}
