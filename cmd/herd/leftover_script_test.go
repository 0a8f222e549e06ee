package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"
)

// The commands of the scripts about a crash of the daemon (issue 16:
// never two copies after one).

// markedProcs returns the PIDs of the live processes (not zombies) whose
// environment holds MARK=value, or, with prefix, MARK=value...
func markedProcs(value string, prefix bool) []int {
	var pids []int
	envs, _ := filepath.Glob("/proc/[0-9]*/environ")
	for _, path := range envs {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		found := false
		for v := range bytes.SplitSeq(b, []byte{0}) {
			rest, ok := bytes.CutPrefix(v, []byte("MARK="))
			if ok && (string(rest) == value || prefix && strings.HasPrefix(string(rest), value)) {
				found = true
				break
			}
		}
		if !found {
			continue
		}
		dir := filepath.Dir(path)
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(stat, ')'); i < 0 || len(stat) < i+3 || stat[i+2] == 'Z' {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(dir))
		pids = append(pids, pid)
	}
	return pids
}

// countprocs VALUE N: wait until exactly N live processes have MARK=VALUE
// in their environment. The first use arranges that every process whose
// MARK starts with $WORK is killed when the script ends, whatever
// shepherd left behind.
func cmdCountProcs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: countprocs VALUE N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	if ts.Getenv("COUNTPROCS_CLEANUP") == "" {
		ts.Setenv("COUNTPROCS_CLEANUP", "1")
		work := ts.Getenv("WORK")
		ts.Defer(func() {
			for _, pid := range markedProcs(work, true) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		})
	}
	poll(ts, fmt.Sprintf("%d processes with MARK=%s", want, args[0]), func() (bool, string) {
		pids := markedProcs(args[0], false)
		return len(pids) == want, fmt.Sprintf("%d: %v", len(pids), pids)
	})
}

// crashcycles N SERVICE...: N times, kill the daemon (whose PID the file
// pid holds) with SIGKILL, start it again as
// `shepherd -c services.yaml -s $SOCK --state $STATE --pid pid` and wait
// until it has written its PID file and each SERVICE runs. The last
// daemon is left running for the script (and killed at its end if it
// still runs); the log of the daemon of cycle I is daemon.I.log.
func cmdCrashCycles(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 {
		ts.Fatalf("usage: crashcycles N SERVICE...")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	prog := ""
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		if p := filepath.Join(dir, "shepherd"); fileExists(p) {
			prog = p
			break
		}
	}
	if prog == "" {
		ts.Fatalf("shepherd not found on the script's PATH")
	}
	pidFile := ts.MkAbs("pid")
	for i := 1; i <= n; i++ {
		pid, err := strconv.Atoi(pidArg(ts, "pid"))
		ts.Check(err)
		ts.Check(syscall.Kill(pid, syscall.SIGKILL))
		// Reaped by whoever started it: testscript for the first, the
		// goroutine below for the others.
		cmdGone(ts, false, []string{strconv.Itoa(pid)})
		ts.Check(os.Remove(pidFile))
		log, err := os.Create(ts.MkAbs(fmt.Sprintf("daemon.%d.log", i)))
		ts.Check(err)
		cmd := exec.Command(prog, "-c", ts.MkAbs("services.yaml"), "-s", ts.Getenv("SOCK"), "--state", ts.Getenv("STATE"), "--pid", pidFile)
		cmd.Dir = ts.MkAbs(".")
		cmd.Env = append(os.Environ(), "PATH="+ts.Getenv("PATH"), "GORACE=atexit_sleep_ms=0")
		cmd.Stdout, cmd.Stderr = log, log
		ts.Check(cmd.Start())
		log.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		ts.Defer(func() {
			select {
			case <-done:
			default:
				cmd.Process.Kill()
				<-done
			}
		})
		cmdWaitFile(ts, false, []string{"pid"})
		for _, s := range args[1:] {
			cmdWaitState(ts, false, []string{s, "running"})
		}
	}
}
