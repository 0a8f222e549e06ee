package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ptraceHold is the program ptracehold PID FILE: it attaches to PID as
// its tracer and never collects it, then writes its own PID to FILE and
// waits for SIGTERM. A traced process's signals (but SIGKILL) stop it
// until the tracer lets them through, and once dead it is a zombie that
// only its tracer can reap: its parent, the daemon, hears nothing of its
// exit until the tracer goes away. Scripts use it for a process whose
// stop cannot complete.
func ptraceHold() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ptracehold PID FILE")
		os.Exit(2)
	}
	pid, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	// ptrace requests come from the thread that attached.
	runtime.LockOSThread()
	if err := unix.PtraceSeize(pid); err != nil {
		fmt.Fprintf(os.Stderr, "ptrace %d: %v\n", pid, err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[2], []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	<-term
	// Exiting detaches: the tracee's signals and exit go to its parent.
	os.Exit(0)
}
