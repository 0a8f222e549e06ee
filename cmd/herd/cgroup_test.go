package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/shepherd-go/shepherd/internal/cgroup"
)

// removeCgroups kills and removes the cgroups of every daemon whose state
// directory is under work (at most three levels down: $STATE,
// $WORK/a/state, ...), which a script that kills its daemon leaves.
func removeCgroups(work string) {
	filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.Count(strings.TrimPrefix(p, work), "/") > 3 {
			return filepath.SkipDir
		}
		if err := cgroup.Destroy(cgroup.Options{StateDir: p, UID: os.Geteuid()}); err != nil {
			os.Stderr.WriteString("cleanup: " + err.Error() + "\n")
		}
		return nil
	})
}

// cgroupPIDs reads the PIDs in the cgroup that `herd status SERVICE`
// names.
func cgroupPIDs(ts *testscript.TestScript, service string) ([]int, error) {
	s, err := status(ts, service)
	if err != nil {
		return nil, err
	}
	if s.Cgroup == nil {
		return nil, fmt.Errorf("service %s has no cgroup in its status", service)
	}
	pids, err := cgroup.Procs(s.Cgroup.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // not made yet, or made anew after a kill
	}
	return pids, err
}

// cgcount SERVICE N: wait until the cgroup of SERVICE holds exactly N
// processes.
func cmdCgCount(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cgcount SERVICE N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	poll(ts, fmt.Sprintf("%d processes in the cgroup of %s", n, args[0]), func() (bool, string) {
		pids, err := cgroupPIDs(ts, args[0])
		if err != nil {
			return false, err.Error()
		}
		return len(pids) == n, fmt.Sprint(pids)
	})
}

// cgprocs SERVICE VAR: set VAR to the PIDs in the cgroup of SERVICE,
// space-separated.
func cmdCgProcs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cgprocs SERVICE VAR")
	}
	pids, err := cgroupPIDs(ts, args[0])
	ts.Check(err)
	var s []string
	for _, p := range pids {
		s = append(s, strconv.Itoa(p))
	}
	ts.Setenv(args[1], strings.Join(s, " "))
}

// cgfamily SERVICE PID: every process in the cgroup of SERVICE is PID or
// a child of PID (no worker of an earlier master is left).
func cmdCgFamily(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cgfamily SERVICE PID")
	}
	main, err := strconv.Atoi(args[1])
	ts.Check(err)
	pids, err := cgroupPIDs(ts, args[0])
	ts.Check(err)
	for _, p := range pids {
		if p == main {
			continue
		}
		if pp := parentOf(p); pp != main {
			ts.Fatalf("process %d in the cgroup of %s is a child of %d, not of %d", p, args[0], pp, main)
		}
	}
}

// childof PID PARENT: the parent of PID is PARENT.
func cmdChildOf(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: childof PID PARENT")
	}
	pid, err := strconv.Atoi(args[0])
	ts.Check(err)
	if got := strconv.Itoa(parentOf(pid)); got != args[1] {
		ts.Fatalf("the parent of %d is %s, not %s", pid, got, args[1])
	}
}

// parentOf reads the parent of pid from /proc (0 if it is gone).
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}

// allgone PID...: wait until none of the processes exists.
func cmdAllGone(ts *testscript.TestScript, neg bool, args []string) {
	for _, a := range strings.Fields(strings.Join(args, " ")) {
		cmdGone(ts, false, []string{a})
	}
}

// httpget URL VAR: wait until GET URL answers 200, and set VAR to its
// body, trimmed.
func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: httpget URL VAR")
	}
	c := &http.Client{Timeout: 2 * time.Second}
	body := ""
	poll(ts, "GET "+args[0], func() (bool, string) {
		resp, err := c.Get(args[0])
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		body = strings.TrimSpace(string(b))
		return resp.StatusCode == 200, resp.Status + " " + body
	})
	ts.Setenv(args[1], body)
}

// tcpdown ADDR: wait until nothing accepts connections at ADDR.
func cmdTCPDown(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: tcpdown HOST:PORT")
	}
	poll(ts, "nothing listening at "+args[0], func() (bool, string) {
		c, err := net.DialTimeout("tcp", args[0], time.Second)
		if err != nil {
			return true, ""
		}
		c.Close()
		return false, "connected"
	})
}

// cgpath SERVICE VAR: set VAR to the cgroup `herd status SERVICE` names.
func cmdCgPath(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: cgpath SERVICE VAR")
	}
	s, err := status(ts, args[0])
	ts.Check(err)
	if s.Cgroup == nil {
		ts.Fatalf("service %s has no cgroup in its status", args[0])
	}
	ts.Setenv(args[1], s.Cgroup.Path)
}

// delegcgroup USER VAR: make a cgroup delegated to USER (the directory
// and its cgroup.procs, cgroup.threads and cgroup.subtree_control are
// USER's, as systemd's Delegate=yes makes them), set VAR to it, and kill
// and remove it with everything below it when the script ends.
func cmdDelegCgroup(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: delegcgroup USER VAR")
	}
	u, err := user.Lookup(args[0])
	ts.Check(err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	m, err := cgroup.ReadMounts()
	ts.Check(err)
	own, err := cgroup.ReadMembership(0)
	ts.Check(err)
	dir, err := os.MkdirTemp(filepath.Join(m.V2, own.V2), "deleg-")
	ts.Check(err)
	ts.Defer(func() { destroyCgroupTree(dir) })
	for _, f := range []string{"", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control"} {
		ts.Check(os.Chown(filepath.Join(dir, f), uid, gid))
	}
	ts.Setenv(args[1], dir)
}

// destroyCgroupTree kills what is in dir and below, and removes it all,
// deepest first.
func destroyCgroupTree(dir string) {
	cgroup.Kill(dir)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	cgroup.WaitEmpty(ctx, dir)
	var dirs []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i])
	}
}
