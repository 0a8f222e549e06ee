package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The programs of the socket activation scripts (socket-*.txtar).

// openFDs lists the descriptors the process inherited through execve: of
// those open (read from /proc/self/fd with raw system calls, the
// directory's own left out), the ones not close-on-exec. The Go runtime
// opens a few of its own before main (an epoll, the cgroup's CPU limits),
// all close-on-exec; whatever came through execve cannot be.
func openFDs() []int {
	dfd, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dfd)
	var fds []int
	buf := make([]byte, 4096)
	for {
		n, err := unix.ReadDirent(dfd, buf)
		if err != nil || n == 0 {
			break
		}
		var names []string
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
		for _, name := range names {
			fd, err := strconv.Atoi(name)
			if err != nil || fd == dfd {
				continue
			}
			if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil && fl&unix.FD_CLOEXEC == 0 {
				fds = append(fds, fd)
			}
		}
	}
	slices.Sort(fds)
	return fds
}

// openFDsAll lists every open descriptor, for the log.
func openFDsAll() []int {
	entries, _ := os.ReadDir("/proc/self/fd")
	var fds []int
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil {
			fds = append(fds, fd)
		}
	}
	return fds
}

// sdListenMain is `sdlisten`: a server that speaks sd_listen_fds(3). First
// thing, it looks at what it was given: LISTEN_PID (its own PID?),
// LISTEN_FDS, LISTEN_FDNAMES, and its open descriptors. It prints that
// report, then serves every passed socket: to each client, the report
// line, then each line the client sends, until it ends. On SIGTERM it
// closes its sockets (clients then wait in the daemon's backlog), makes
// the file $SDLISTEN_CLOSED names, if any, to say so, and, if
// $SDLISTEN_HOLD names a file, waits for it to be removed before exiting.
// `sdlisten -listen ADDRESS` binds ADDRESS itself instead (a program in
// the way of a service's port), and says "listening on ADDRESS".
func sdListenMain() {
	fds := openFDs()
	pid := os.Getpid()
	strs := make([]string, len(fds))
	for i, fd := range fds {
		strs[i] = strconv.Itoa(fd)
	}
	report := fmt.Sprintf("sdlisten pid=%d listen_pid=%s fds=%s listen_fds=%s names=%s", pid,
		map[bool]string{true: "self", false: os.Getenv("LISTEN_PID")}[os.Getenv("LISTEN_PID") == strconv.Itoa(pid)],
		strings.Join(strs, ","), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES"))
	fmt.Println(report)
	for _, fd := range openFDsAll() {
		l, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
		fmt.Printf("sdlisten fd %d: %s\n", fd, l)
	}
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	var lns []net.Listener
	if len(os.Args) == 3 && os.Args[1] == "-listen" {
		ln, err := net.Listen("tcp", os.Args[2])
		if err != nil {
			fmt.Println("sdlisten:", err)
			os.Exit(1)
		}
		fmt.Println("listening on", os.Args[2])
		lns = append(lns, ln)
	}
	for i := range n {
		ln, err := net.FileListener(os.NewFile(uintptr(3+i), "listen"))
		if err != nil {
			fmt.Println("sdlisten:", err)
			os.Exit(1)
		}
		lns = append(lns, ln)
	}
	var wg sync.WaitGroup
	for _, ln := range lns {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer c.Close()
					fmt.Fprintln(c, report)
					io.Copy(c, c)
				}()
			}
		}()
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	<-term
	for _, ln := range lns {
		ln.Close()
	}
	if closed := os.Getenv("SDLISTEN_CLOSED"); closed != "" {
		os.WriteFile(closed, nil, 0o644)
	}
	if hold := os.Getenv("SDLISTEN_HOLD"); hold != "" {
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(hold); err != nil {
				break
			}
		}
	}
	wg.Wait()
	os.Exit(0)
}

// sockCallMain is `sockcall NETWORK ADDRESS TEXT`: it connects, sends
// TEXT and a newline, ends its side, and prints what comes back until the
// server ends its side. A refused connection exits 1 at once. Once
// connected, it creates the file $SOCKCALL_CONNECTED names, if any.
func sockCallMain() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: sockcall NETWORK ADDRESS TEXT")
		os.Exit(2)
	}
	c, err := net.Dial(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if f := os.Getenv("SOCKCALL_CONNECTED"); f != "" {
		os.WriteFile(f, nil, 0o600)
	}
	c.SetDeadline(time.Now().Add(deadline))
	fmt.Fprintln(c, os.Args[3])
	switch c := c.(type) {
	case *net.TCPConn:
		c.CloseWrite()
	case *net.UnixConn:
		c.CloseWrite()
	}
	if _, err := io.Copy(os.Stdout, bufio.NewReader(c)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// sockHammerMain is `sockhammer NETWORK ADDRESS STOPFILE`: it calls the
// service one connection after another (each sends a line and must get
// it back) until STOPFILE exists, then prints how many calls succeeded
// and how many failed, the first failure's error, and exits 1 if any
// did.
func sockHammerMain() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: sockhammer NETWORK ADDRESS STOPFILE")
		os.Exit(2)
	}
	ok, failed := 0, 0
	var first error
	for end := time.Now().Add(deadline); time.Now().Before(end); {
		if _, err := os.Stat(os.Args[3]); err == nil {
			break
		}
		err := func() error {
			c, err := net.Dial(os.Args[1], os.Args[2])
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(deadline))
			fmt.Fprintf(c, "ping %d\n", ok)
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return err
			}
			if line != fmt.Sprintf("ping %d\n", ok) {
				return fmt.Errorf("got %q", line)
			}
			return nil
		}()
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
			continue
		}
		ok++
	}
	fmt.Printf("%d calls, %d failed\n", ok, failed)
	if first != nil {
		fmt.Println("first failure:", first)
		os.Exit(1)
	}
}

// sockHoldMain is `sockhold NETWORK ADDRESS STOPFILE`: it connects and
// keeps the connection open until STOPFILE exists, then prints what the
// server sent meanwhile.
func sockHoldMain() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: sockhold NETWORK ADDRESS STOPFILE")
		os.Exit(2)
	}
	c, err := net.Dial(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for end := time.Now().Add(deadline); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(os.Args[3]); err == nil {
			break
		}
	}
	c.SetDeadline(time.Now().Add(deadline))
	c.(interface{ CloseWrite() error }).CloseWrite()
	io.Copy(os.Stdout, c)
	c.Close()
}
