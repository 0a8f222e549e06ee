package notify

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain lets the test binary be a sender: with NOTIFY_TEST_SEND set it
// sends that datagram to $NOTIFY_SOCKET and exits, 0 if the send worked
// (and, unless NOTIFY_TEST_NO_BARRIER is set, once the datagram was read).
func TestMain(m *testing.M) {
	if msg, ok := os.LookupEnv("NOTIFY_TEST_SEND"); ok {
		err := send(os.Getenv("NOTIFY_SOCKET"), msg)
		if _, nb := os.LookupEnv("NOTIFY_TEST_NO_BARRIER"); err == nil && !nb {
			err = barrier(os.Getenv("NOTIFY_SOCKET"))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func send(path, msg string) error {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(msg))
	return err
}

// barrier waits until the listener has judged what this process sent, as
// sd_notify_barrier(3) does: BARRIER=1 with the write end of a pipe,
// whose read end sees EOF once the listener closed it. A sender that
// exits at once would otherwise be gone before it is judged.
func barrier(path string) error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	err = unix.Sendmsg(fd, []byte("BARRIER=1"), unix.UnixRights(p[1]), &unix.SockaddrUnix{Name: path}, 0)
	unix.Close(p[1])
	if err != nil {
		return err
	}
	unix.SetNonblock(p[0], true) // for the deadline
	r := os.NewFile(uintptr(p[0]), "barrier")
	defer r.Close()
	r.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = r.Read(make([]byte, 1))
	if err == io.EOF {
		return nil
	}
	return fmt.Errorf("barrier: %v", err)
}

// sendWith sends msg with explicit credentials and descriptors.
func sendWith(t *testing.T, path, msg string, cred *unix.Ucred, fds ...int) error {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var oob []byte
	if cred != nil {
		oob = append(oob, unix.UnixCredentials(cred)...)
	}
	if len(fds) > 0 {
		oob = append(oob, unix.UnixRights(fds...)...)
	}
	return unix.Sendmsg(fd, []byte(msg), oob, &unix.SockaddrUnix{Name: path}, 0)
}

type testListener struct {
	*Listener
	woken chan struct{}
	done  sync.WaitGroup
}

func listen(t *testing.T, uid int) *testListener {
	t.Helper()
	return listenIn(t, t.TempDir(), uid)
}

func listenIn(t *testing.T, parent string, uid int) *testListener {
	t.Helper()
	dir := filepath.Join(parent, "notify")
	if err := EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	l, err := Listen(dir, "svc", uid, -1)
	if err != nil {
		t.Fatal(err)
	}
	tl := &testListener{Listener: l, woken: make(chan struct{}, 100)}
	tl.done.Add(1)
	go func() { defer tl.done.Done(); l.Serve(func() { tl.woken <- struct{}{} }) }()
	t.Cleanup(func() {
		l.Close()
		tl.done.Wait()
		if _, err := os.Lstat(l.Path()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket file left after Close: %v", err)
		}
	})
	return tl
}

// next waits for the next wake-up and takes what came.
func (l *testListener) next(t *testing.T) []Message {
	t.Helper()
	select {
	case <-l.woken:
		return l.Take()
	case <-time.After(20 * time.Second):
		t.Fatal("no message")
		return nil
	}
}

// waitStats waits until the counters satisfy cond.
func (l *testListener) waitStats(t *testing.T, cond func(Stats) bool) Stats {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for {
		s := l.Stats()
		if cond(s) {
			return s
		}
		if time.Now().After(end) {
			t.Fatalf("stats %+v", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func self() Rule {
	return Rule{UID: uint32(os.Geteuid()), MainPID: os.Getpid(), Session: getsid()}
}

func TestSocketModeAndOwner(t *testing.T) {
	l := listen(t, os.Geteuid())
	var st unix.Stat_t
	if err := unix.Lstat(l.Path(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Mode&0o777 != 0o600 || st.Uid != uint32(os.Geteuid()) {
		t.Fatalf("socket mode %o uid %d", st.Mode, st.Uid)
	}
	if err := unix.Lstat(filepath.Dir(l.Path()), &st); err != nil || st.Mode&0o777 != 0o711 {
		t.Fatalf("directory mode %o: %v", st.Mode&0o777, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(l.Path()))
	if len(entries) != 1 {
		t.Fatalf("directory holds %v, want only the socket", entries)
	}
}

func TestEnsureDirRefusesAnInsecureDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "notify")
	os.Mkdir(dir, 0o777)
	os.Chmod(dir, 0o777)
	if err := EnsureDir(dir); !errors.Is(err, ErrInsecureDir) {
		t.Fatalf("0777 directory: %v", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(t.TempDir(), link)
	if err := EnsureDir(link); !errors.Is(err, ErrInsecureDir) {
		t.Fatalf("symbolic link: %v", err)
	}
}

func TestFromTheMainProcessAndItsChildren(t *testing.T) {
	l := listen(t, os.Geteuid())
	l.SetRule(self())
	if err := send(l.Path(), "READY=1\nSTATUS=up"); err != nil {
		t.Fatal(err)
	}
	if got := l.next(t); len(got) != 1 || !got[0].Ready || got[0].Status != "up" || got[0].Sender != os.Getpid() {
		t.Fatalf("%+v", got)
	}
	// A child (a descendant of the main process) is heard too.
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "NOTIFY_TEST_SEND=STATUS=from a child", "NOTIFY_SOCKET="+l.Path())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := l.next(t); len(got) != 1 || got[0].Status != "from a child" || got[0].Sender != cmd.Process.Pid {
		t.Fatalf("%+v", got)
	}
}

// TestNotFromAnotherProcess: a process of the same user that is not the
// service's (neither its main process, in its session, nor below it) is
// not heard.
func TestNotFromAnotherProcess(t *testing.T) {
	l := listen(t, os.Geteuid())
	// The "service" is a sleep in a session of its own; this test
	// process is not one of its processes.
	svc := exec.Command("sleep", "3600")
	svc.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Process.Kill(); svc.Wait() })
	l.SetRule(Rule{UID: uint32(os.Geteuid()), MainPID: svc.Process.Pid, Session: svc.Process.Pid})
	if err := send(l.Path(), "READY=1"); err != nil {
		t.Fatal(err)
	}
	s := l.waitStats(t, func(s Stats) bool { return s.Refused == 1 })
	if want := fmt.Sprintf("process %d is not one of the service's (main process %d)", os.Getpid(), svc.Process.Pid); s.LastRefusal != want {
		t.Fatalf("refusal %q, want %q", s.LastRefusal, want)
	}
	if q := l.Take(); len(q) != 0 || s.Accepted != 0 {
		t.Fatalf("taken: %+v %+v", q, s)
	}
}

// TestNotFromAnotherUser: the socket admits the service's user only, and
// credentials that claim another uid (which only root can forge) are
// refused by the daemon too.
func TestNotFromAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: a process of another user")
	}
	shared := sharedDir(t)
	l := listenIn(t, shared, os.Geteuid())
	l.SetRule(self())
	// nobody cannot even send: the socket is 0600, root's (the way to
	// it is open: the directories are 0755 and 0711).
	out, err := sendAs(t, shared, 65534, l.Path(), "READY=1")
	if err == nil || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("nobody sent to root's socket: %v %s", err, out)
	}
	// Credentials of another uid, forged (as root may): refused.
	if err := sendWith(t, l.Path(), "READY=1", &unix.Ucred{Pid: int32(os.Getpid()), Uid: 65534, Gid: 65534}); err != nil {
		t.Fatal(err)
	}
	s := l.waitStats(t, func(s Stats) bool { return s.Refused == 1 })
	if want := fmt.Sprintf("process %d runs as uid 65534, not as the service's uid 0", os.Getpid()); s.LastRefusal != want {
		t.Fatalf("refusal %q, want %q", s.LastRefusal, want)
	}
	if q := l.Take(); len(q) != 0 {
		t.Fatalf("taken: %+v", q)
	}
}

// sharedDir is a directory other users can enter.
func sharedDir(t *testing.T) string {
	t.Helper()
	shared, err := os.MkdirTemp("", "notify-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(shared) })
	os.Chmod(shared, 0o755)
	return shared
}

// sendAs sends msg to path from a child of this process running as uid
// (a copy of the test binary in shared, which uid can read).
func sendAs(t *testing.T, shared string, uid int, path, msg string) ([]byte, error) {
	t.Helper()
	exe := filepath.Join(shared, "sender")
	if _, err := os.Stat(exe); err != nil {
		copyFile(t, os.Args[0], exe)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "NOTIFY_TEST_SEND="+msg, "NOTIFY_SOCKET="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	return cmd.CombinedOutput()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

// TestOwnerOfAnotherUsersSocket: a service running as another user gets a
// socket it owns (and may send to).
func TestOwnerOfAnotherUsersSocket(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown")
	}
	shared := sharedDir(t)
	l := listenIn(t, shared, 65534)
	var st unix.Stat_t
	if err := unix.Lstat(l.Path(), &st); err != nil || st.Uid != 65534 || st.Mode&0o777 != 0o600 {
		t.Fatalf("uid %d mode %o: %v", st.Uid, st.Mode&0o777, err)
	}
	// The service's user can send (its sender is a child of this "main
	// process"), and is heard.
	l.SetRule(Rule{UID: 65534, MainPID: os.Getpid()})
	if out, err := sendAs(t, shared, 65534, l.Path(), "READY=1"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got := l.next(t); len(got) != 1 || !got[0].Ready {
		t.Fatalf("%+v", got)
	}
}

// TestDescriptorsAreClosed: descriptors passed with a datagram are closed
// once it was judged, whoever sent it (sd_notify_barrier waits for that).
func TestDescriptorsAreClosed(t *testing.T) {
	l := listen(t, os.Geteuid())
	l.SetRule(self())
	for _, msg := range []string{"BARRIER=1", "READY=1"} {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		if err := sendWith(t, l.Path(), msg, nil, p[1], p[1]); err != nil {
			t.Fatal(err)
		}
		unix.Close(p[1])
		unix.SetNonblock(p[0], true) // for the deadline
		r := os.NewFile(uintptr(p[0]), "barrier")
		r.SetReadDeadline(time.Now().Add(20 * time.Second))
		if n, err := r.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("%s: the write end is still open somewhere: %d %v", msg, n, err)
		}
		r.Close()
	}
	if got := l.next(t); len(got) != 1 || !got[0].Ready {
		t.Fatalf("%+v (BARRIER=1 alone says nothing)", got)
	}
}

// TestDatagramsWaitForTheMainProcess: what comes before the main process
// is known (its Spawned answer may come after its READY=1) is judged once
// it is.
func TestDatagramsWaitForTheMainProcess(t *testing.T) {
	l := listen(t, os.Geteuid())
	l.SetRule(Rule{UID: uint32(os.Geteuid()), Spawning: true})
	if err := send(l.Path(), "READY=1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.woken:
		t.Fatal("a datagram was taken before the main process was known")
	case <-time.After(50 * time.Millisecond):
	}
	l.SetRule(self())
	if got := l.next(t); len(got) != 1 || !got[0].Ready {
		t.Fatalf("%+v", got)
	}
	// With no process, and none being spawned, a datagram is refused at
	// once: its sender (waiting for its descriptor to close) is not held.
	l.SetRule(Rule{UID: uint32(os.Geteuid())})
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	if err := sendWith(t, l.Path(), "READY=1", nil, p[1]); err != nil {
		t.Fatal(err)
	}
	unix.Close(p[1])
	unix.SetNonblock(p[0], true)
	r := os.NewFile(uintptr(p[0]), "barrier")
	defer r.Close()
	r.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := r.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the descriptor of a datagram sent while no process runs is held: %v", err)
	}
	if s := l.Stats(); s.LastRefusal != "the service has no process" {
		t.Fatalf("%+v", s)
	}
}

// TestFromTheFirstProcessAfterItEnded: the process the daemon started
// (the session's leader) is heard even if it has been reaped by the time
// its datagram is read, as a launcher that names its child MAINPID=, says
// READY=1 and exits; another process that is gone is not.
func TestFromTheFirstProcessAfterItEnded(t *testing.T) {
	l := listen(t, os.Geteuid())
	l.SetRule(Rule{UID: uint32(os.Geteuid()), Spawning: true}) // datagrams wait
	sendAndEnd := func(msg string) int {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "NOTIFY_TEST_SEND="+msg, "NOTIFY_SOCKET="+l.Path(), "NOTIFY_TEST_NO_BARRIER=1")
		if out, err := cmd.CombinedOutput(); err != nil { // reaped
			t.Fatalf("%v: %s", err, out)
		}
		return cmd.Process.Pid
	}
	launcher := sendAndEnd("READY=1")
	main := exec.Command("sleep", "3600")
	if err := main.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { main.Process.Kill(); main.Wait() })
	rule := Rule{UID: uint32(os.Geteuid()), MainPID: main.Process.Pid, Session: launcher}
	l.SetRule(rule)
	if got := l.next(t); len(got) != 1 || !got[0].Ready || got[0].Sender != launcher {
		t.Fatalf("%+v", got)
	}
	rule.Spawning = true
	l.SetRule(rule)
	other := sendAndEnd("STATUS=spoofed")
	rule.Spawning = false
	l.SetRule(rule)
	s := l.waitStats(t, func(s Stats) bool { return s.Refused == 1 })
	// Gone, as a rule; on a busy machine its PID may already be another
	// process's, which is not the service's either.
	gone := fmt.Sprintf("process %d is gone: it cannot be told from others", other)
	reused := fmt.Sprintf("process %d is not one of the service's", other)
	if s.LastRefusal != gone && !strings.HasPrefix(s.LastRefusal, reused) || s.Accepted != 1 {
		t.Fatalf("%+v, want one refusal: %q", s, gone)
	}
}

// TestHostileDatagrams: too long, malformed and flooding senders are
// counted, bounded and dropped.
func TestHostileDatagrams(t *testing.T) {
	l := listen(t, os.Geteuid())
	l.SetRule(self())
	if err := send(l.Path(), "STATUS="+strings.Repeat("x", 10000)); err != nil {
		t.Fatal(err)
	}
	if err := send(l.Path(), "READY=yes"); err != nil {
		t.Fatal(err)
	}
	s := l.waitStats(t, func(s Stats) bool { return s.Malformed == 2 })
	if !strings.Contains(s.LastMalformed, `READY="yes" (expected 1)`) {
		t.Fatalf("%+v", s)
	}
	// A flood waits in a bounded queue; one wake-up; nothing is lost of
	// what matters.
	for i := range 200 {
		msg := "STATUS=" + strconv.Itoa(i)
		if i == 3 {
			msg += "\nREADY=1"
		}
		if err := send(l.Path(), msg); err != nil {
			t.Fatal(err)
		}
	}
	l.waitStats(t, func(s Stats) bool { return s.Accepted == 200 })
	q := l.next(t)
	if len(q) > maxQueue {
		t.Fatalf("%d messages queued", len(q))
	}
	ready := false
	for _, m := range q {
		ready = ready || m.Ready
	}
	if !ready || q[len(q)-1].Status != "199" {
		t.Fatalf("lost: ready %v, last %+v", ready, q[len(q)-1])
	}
	if len(l.woken) != 0 {
		t.Fatalf("%d more wake-ups for one drain", len(l.woken))
	}
}

func TestStaleSocketIsReplaced(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "notify")
	if err := EnsureDir(dir); err != nil {
		t.Fatal(err)
	}
	old, err := Listen(dir, "svc", os.Geteuid(), -1)
	if err != nil {
		t.Fatal(err)
	}
	// Not closed: as a crashed daemon leaves it.
	l, err := Listen(dir, "svc", os.Geteuid(), -1)
	if err != nil {
		t.Fatal(err)
	}
	old.Close() // must not remove the new one's file
	if _, err := os.Lstat(l.Path()); err != nil {
		t.Fatalf("the new socket's file went with the old socket: %v", err)
	}
	l.Close()
	long := strings.Repeat("n", 200)
	p, err := SocketPath(dir, long)
	if err != nil || len(p) > maxSocketPath || !strings.HasPrefix(filepath.Base(p), "h-") {
		t.Fatalf("%q %v", p, err)
	}
}

func getsid() int {
	sid, _ := unix.Getsid(0)
	return sid
}
