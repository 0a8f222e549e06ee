package main

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"
)

// httpSayMain is the program `httpsay --listen=HOST:PORT`: an HTTP
// server answering every GET with the instance it is (SHEPHERD_INSTANCE),
// the address it was told and $GREETING, so that a script sees which
// instance listens where.
func httpSayMain() {
	addr, ok := "", false
	for _, a := range os.Args[1:] {
		if v, found := strings.CutPrefix(a, "--listen="); found {
			addr, ok = v, true
		}
	}
	if !ok {
		fmt.Fprintln(os.Stderr, "usage: httpsay --listen=HOST:PORT")
		os.Exit(2)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	body := fmt.Sprintf("instance=%s listen=%s greeting=%s", os.Getenv("SHEPHERD_INSTANCE"), addr, os.Getenv("GREETING"))
	fmt.Println("listening on", addr)
	http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, body) }))
}

// freeprefix VAR N: set VAR to a number P such that the TCP ports P1, P2,
// ... PN (P followed by each digit) are free on 127.0.0.1, for services
// whose instance number makes their port (--port=P{instance}).
func cmdFreePrefix(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: freeprefix VAR N")
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 || n > 9 {
		ts.Fatalf("freeprefix: N is 1..9")
	}
	for range 200 {
		p := 2000 + rand.IntN(1276) // P9 stays below 32768, where the ephemeral ports start
		var ls []net.Listener
		for i := 1; i <= n; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d%d", p, i))
			if err != nil {
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if len(ls) == n {
			ts.Setenv(args[0], strconv.Itoa(p))
			return
		}
	}
	ts.Fatalf("freeprefix: no free run of %d ports found", n)
}

// syslogSinkMain is the program `syslogsink SOCKET OUT`: it stands in for
// the system log, reading datagrams at SOCKET (a unix datagram socket, as
// /dev/log) and appending each to OUT as a line, until SIGTERM or SIGINT (then it
// removes SOCKET and exits 0).
func syslogSinkMain() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: syslogsink SOCKET OUT")
		os.Exit(2)
	}
	os.Remove(os.Args[1])
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: os.Args[1], Net: "unixgram"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := os.OpenFile(os.Args[2], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-stop
		os.Remove(os.Args[1])
		os.Exit(0)
	}()
	buf := make([]byte, 1<<16)
	for {
		n, err := c.Read(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		out.Write(append(buf[:n:n], '\n'))
	}
}
