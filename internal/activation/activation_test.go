package activation

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/services"
	"golang.org/x/sys/unix"
)

// freeTCP is a loopback address nobody listens on now.
func freeTCP(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func mustBind(t *testing.T, e services.Endpoint) *Socket {
	t.Helper()
	s, err := Bind(e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestBindTCPAndUnix(t *testing.T) {
	addr := freeTCP(t)
	s := mustBind(t, services.Endpoint{TCP: addr, Name: "web"})
	if s.Inode == 0 || s.Addr() != addr {
		t.Fatalf("%+v", s)
	}
	if fl, _ := unix.FcntlInt(uintptr(s.FD()), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
		t.Fatal("listening socket inherited by every process")
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// The address is ours: a second bind says so, naming it.
	if _, err := Bind(services.Endpoint{TCP: addr}); err == nil || !strings.Contains(err.Error(), "listen tcp "+addr+": bind: address already in use") {
		t.Fatalf("second bind: %v", err)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "app.sock")
	gid := uint32(os.Getgid())
	u := mustBind(t, services.Endpoint{Unix: path, Mode: 0o620, Group: &gid})
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o620 || st.Mode().Type() != os.ModeSocket {
		t.Fatalf("mode %v", st.Mode())
	}
	if _, err := Bind(services.Endpoint{Unix: path}); err == nil || !strings.Contains(err.Error(), "another program listens there") {
		t.Fatalf("second bind: %v", err)
	}
	u.Close()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("socket file left behind: %v", err)
	}
}

func TestBindReplacesStaleSocketOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	// A socket file nobody listens on: what a killed program leaves.
	fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	mustBind(t, services.Endpoint{Unix: path})

	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o600)
	if _, err := Bind(services.Endpoint{Unix: file}); err == nil || !strings.Contains(err.Error(), "exists and is not a socket") {
		t.Fatalf("bind over a file: %v", err)
	}
}

// A socket file replaced by someone else is theirs: Close leaves it.
func TestCloseRemovesOnlyItsOwnFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	s := mustBind(t, services.Endpoint{Unix: path})
	os.Remove(path)
	os.WriteFile(path, []byte("x"), 0o600)
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal("another's file was removed")
	}
}

func TestReconcileKeepsUnchanged(t *testing.T) {
	a, b := freeTCP(t), freeTCP(t)
	ea, eb := services.Endpoint{TCP: a, Name: "a", Backlog: 8}, services.Endpoint{TCP: b, Name: "b", Backlog: 8}
	socks, err := Reconcile(nil, []services.Endpoint{ea, eb})
	if err != nil {
		t.Fatal(err)
	}
	// A client waits in a's backlog.
	c, err := net.Dial("tcp", a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	eb2 := eb
	eb2.Name = "b2"
	again, err := Reconcile(socks, []services.Endpoint{ea, eb2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range again {
			s.Close()
		}
	})
	if again[0] != socks[0] || again[1] == socks[1] || socks[1].FD() != -1 {
		t.Fatalf("kept %v, rebound %v", again[0] == socks[0], again[1] != socks[1])
	}
	// The waiting client is still there to be accepted.
	if nfd, _, err := unix.Accept4(again[0].FD(), unix.SOCK_CLOEXEC); err != nil {
		t.Fatalf("queued connection lost: %v", err)
	} else {
		unix.Close(nfd)
	}
	// A failure leaves what was kept and names the endpoint.
	busy := freeTCP(t)
	l, _ := net.Listen("tcp", busy)
	defer l.Close()
	kept, err := Reconcile(again, []services.Endpoint{ea, {TCP: busy, Name: "x"}})
	if err == nil || !strings.Contains(err.Error(), "listen tcp "+busy) || len(kept) != 1 || kept[0] != again[0] {
		t.Fatalf("%v %v", kept, err)
	}
}

func TestInheritAndListenEnv(t *testing.T) {
	s := mustBind(t, services.Endpoint{TCP: freeTCP(t), Name: "http"})
	dup, _ := unix.Dup(s.FD())
	sv := s.Save()
	sv.FD = dup
	in, err := Inherit(sv)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dup)
	if in.Inode != s.Inode || in.Endpoint != s.Endpoint {
		t.Fatalf("%+v vs %+v", in, s)
	}
	f, _ := os.CreateTemp(t.TempDir(), "x")
	defer f.Close()
	if _, err := Inherit(Saved{FD: int(f.Fd()), Endpoint: s.Endpoint}); err == nil {
		t.Fatal("a file inherited as a socket")
	}
	u := mustBind(t, services.Endpoint{Unix: filepath.Join(t.TempDir(), "u"), Name: "ctl"})
	env := ListenEnv([]*Socket{s, u})
	if env["LISTEN_FDS"] != "2" || env["LISTEN_FDNAMES"] != "http:ctl" {
		t.Fatalf("%v", env)
	}
}

func runPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	go p.Run()
	t.Cleanup(p.Close)
	return p
}

func TestWatchOnceLeavesTheClientWaiting(t *testing.T) {
	p := runPoller(t)
	s := mustBind(t, services.Endpoint{TCP: freeTCP(t)})
	fired := make(chan struct{}, 2)
	if err := p.WatchOnce(s.FD(), func() { fired <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("no call for a waiting client")
	}
	if p.Watching(s.FD()) {
		t.Fatal("still watched after firing once")
	}
	// Not accepted: whoever gets the socket next serves the client.
	c.Write([]byte("hi"))
	nfd, _, err := unix.Accept4(s.FD(), unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(nfd)
	buf := make([]byte, 2)
	if n, _ := unix.Read(nfd, buf); string(buf[:n]) != "hi" {
		t.Fatalf("read %q", buf[:n])
	}
	// Armed again with a client already waiting: fires at once. Cancelled:
	// never.
	c2, _ := net.Dial("tcp", s.Addr())
	defer c2.Close()
	p.WatchOnce(s.FD(), func() { fired <- struct{}{} })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("no call for a client waiting before the watch")
	}
	// Take c2 first: a client still in the backlog would fire the next
	// watch before the test could cancel it.
	nfd2, _, err := unix.Accept4(s.FD(), unix.SOCK_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(nfd2)
	p.WatchOnce(s.FD(), func() { t.Error("cancelled watch fired") })
	p.Cancel(s.FD())
	if p.Watching(s.FD()) {
		t.Fatal("still watched after Cancel")
	}
	c3, _ := net.Dial("tcp", s.Addr())
	defer c3.Close()
	// A watch on another socket with a client waiting fires only after the
	// poller went round once more, so a cancelled call would have come.
	s2 := mustBind(t, services.Endpoint{TCP: freeTCP(t)})
	c4, _ := net.Dial("tcp", s2.Addr())
	defer c4.Close()
	p.WatchOnce(s2.FD(), func() { fired <- struct{}{} })
	select {
	case <-fired:
	case <-time.After(10 * time.Second):
		t.Fatal("no call for the second socket")
	}
}

func TestAcceptTakesConnectionsWithTheirAddresses(t *testing.T) {
	s := mustBind(t, services.Endpoint{TCP: freeTCP(t)})
	if err := s.SetBlocking(false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accept(); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("accept with nobody waiting: %v", err)
	}
	for i := range 3 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got, err := s.Accept()
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		env := ConnEnv(got)
		local := c.LocalAddr().(*net.TCPAddr)
		if env["PROTO"] != "TCP" || env["TCPREMOTEIP"] != "127.0.0.1" || env["TCPREMOTEPORT"] != fmt.Sprint(local.Port) ||
			env["REMOTE_ADDR"] != "127.0.0.1" || env["TCPLOCALIP"]+":"+env["TCPLOCALPORT"] != s.Addr() {
			t.Fatalf("env %v", env)
		}
		// The connection is a blocking descriptor, for a process's stdin.
		if fl, _ := unix.FcntlInt(got.File.Fd(), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
			t.Fatal("connection is non-blocking")
		}
		if fl, _ := unix.FcntlInt(got.File.Fd(), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
			t.Fatal("connection inherited by every process")
		}
		got.File.Write([]byte("hello\n"))
		line, _ := bufio.NewReader(c).ReadString('\n')
		got.File.Close()
		if line != "hello\n" {
			t.Fatalf("read %q", line)
		}
	}

	u := mustBind(t, services.Endpoint{Unix: filepath.Join(t.TempDir(), "u")})
	u.SetBlocking(false)
	c, err := net.Dial("unix", u.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := u.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer got.File.Close()
	env := ConnEnv(got)
	if env["PROTO"] != "UNIX" || env["UNIXREMOTEPID"] != fmt.Sprint(os.Getpid()) || env["UNIXREMOTEEUID"] != fmt.Sprint(os.Geteuid()) {
		t.Fatalf("env %v", env)
	}
}

func TestPollerCloseEndsRun(t *testing.T) {
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { p.Run(); close(done) }()
	s := mustBind(t, services.Endpoint{TCP: freeTCP(t)})
	p.WatchOnce(s.FD(), func() {})
	p.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not end")
	}
	if err := p.WatchOnce(s.FD(), func() {}); err == nil {
		t.Fatal("watch after close")
	}
	// The socket is its owner's: still open.
	if _, err := unix.GetsockoptInt(s.FD(), unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil {
		t.Fatal(err)
	}
}

func TestConnsLife(t *testing.T) {
	var cs Conns
	s := mustBind(t, services.Endpoint{TCP: freeTCP(t)})
	s.SetBlocking(false)
	dial := func() Conn {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conn, err := s.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	a, b := cs.Add(dial()), cs.Add(dial())
	if a == b || !cs.Pending() {
		t.Fatal("ids or pending")
	}
	conn, ok := cs.Take(a)
	if !ok {
		t.Fatal("take")
	}
	if _, ok := cs.Take(a); ok {
		t.Fatal("taken twice")
	}
	cs.Spawning(1, conn)
	// A process serves it: its copy stays, ours is closed.
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h, err := proc.OpenHandle(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	cs.Spawned(1, cmd.Process.Pid, h)
	if _, err := conn.File.Stat(); err == nil {
		t.Fatal("the daemon's copy of a served connection is open")
	}
	cs.CloseAccepted()
	if cs.Pending() {
		t.Fatal("pending after CloseAccepted")
	}
	saved := cs.Save()
	if saved[cmd.Process.Pid] != h.FD() {
		t.Fatalf("saved %v", saved)
	}
	var again Conns
	if errs := again.Restore(map[int]int{cmd.Process.Pid: -1}); len(errs) != 0 {
		t.Fatalf("restore by PID: %v", errs)
	}
	if errs := cs.Signal(unix.SIGTERM); len(errs) != 0 {
		t.Fatal(errs)
	}
	cmd.Wait()
	if !cs.Exited(cmd.Process.Pid) || cs.Exited(cmd.Process.Pid) {
		t.Fatal("exited")
	}
	again.Close()
}
