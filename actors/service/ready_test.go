package service

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/internal/freeport"
	"github.com/shepherd-go/shepherd/internal/notify"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"golang.org/x/sys/unix"
)

// helperMain is a service of the readiness tests: this test binary, run
// with HELPER set, does what its environment says, in this order, then
// sleeps until killed (or exits with HELPER_EXIT):
//
//	HELPER_DELAY    wait this long first (a Go duration)
//	HELPER_TOUCH    create this file
//	HELPER_LISTEN   listen on this TCP address (HELPER_HTTP: serve HTTP
//	                there, 503 until HELPER_HTTP_OK exists, then 200)
//	HELPER_FD       write a newline to this descriptor
//	HELPER_MAINPID  start a sleeping copy of itself, name it MAINPID=
//	HELPER_NOTIFY   send these datagrams, '|' between them, to NOTIFY_SOCKET
//	HELPER_PING     send WATCHDOG=1 every this long
//	HELPER_EXIT     exit with this code
func helperMain() {
	env := os.Getenv
	if d, err := time.ParseDuration(env("HELPER_DELAY")); err == nil {
		time.Sleep(d)
	}
	if f := env("HELPER_TOUCH"); f != "" {
		os.WriteFile(f, nil, 0o644)
	}
	if addr := env("HELPER_LISTEN"); addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		if env("HELPER_HTTP") != "" {
			ok := env("HELPER_HTTP_OK")
			go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := os.Stat(ok); err != nil {
					w.WriteHeader(http.StatusServiceUnavailable)
				}
			}))
		}
	}
	if fd, err := strconv.Atoi(env("HELPER_FD")); err == nil {
		unix.Write(fd, []byte("\n"))
		unix.Close(fd)
	}
	var msgs []string
	if env("HELPER_MAINPID") != "" {
		child := exec.Command(os.Args[0])
		child.Env = []string{"HELPER=1"}
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		msgs = append(msgs, "MAINPID="+strconv.Itoa(child.Process.Pid))
	}
	if m := env("HELPER_NOTIFY"); m != "" {
		msgs = append(msgs, strings.Split(m, "|")...)
	}
	for _, m := range msgs {
		if err := sdNotify(m); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
	if code, err := strconv.Atoi(env("HELPER_EXIT")); err == nil {
		os.Exit(code)
	}
	if d, err := time.ParseDuration(env("HELPER_PING")); err == nil {
		for {
			sdNotify("WATCHDOG=1")
			time.Sleep(d)
		}
	}
	select {}
}

// sdNotify sends msg to $NOTIFY_SOCKET as sd_notify(3) does.
func sdNotify(msg string) error {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte(msg))
	return err
}

// helper is the YAML of a service run by helperMain.
func helper(name, extra string, env map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - name: %s\n    command: [%q]\n    respawn-delay: 10ms\n    environment:\n      HELPER: \"1\"\n", name, os.Args[0])
	for k, v := range env {
		fmt.Fprintf(&b, "      %s: %q\n", k, v)
	}
	for _, l := range strings.Split(strings.TrimSpace(extra), "\n") {
		if l != "" {
			b.WriteString("    " + strings.TrimSpace(l) + "\n")
		}
	}
	return b.String()
}

// startFails starts a service and returns the reason it failed with.
func (h *harness) startFails(pid *actor.PID, what string) *wire.Error {
	h.t.Helper()
	rep := h.await(h.async(pid, "start"), what)
	if rep.OK || rep.Error.Kind != wire.StartFailed {
		h.t.Fatalf("%s: %+v", what, rep)
	}
	return rep.Error
}

// TestReadyNotify: a notify service is running once it says READY=1, not
// before: right after the start answers, what it did before READY=1 is
// done; its STATUS= is in status; NOTIFY_SOCKET reaches it.
func TestReadyNotify(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	flag := filepath.Join(dir, "ready")
	pid := h.add(helper("svc", "ready: notify", map[string]string{
		"HELPER_DELAY": "300ms", "HELPER_TOUCH": flag, "HELPER_NOTIFY": "STATUS=loading|READY=1\nSTATUS=serving",
	}))
	res := h.result(h.call(pid, "start"), "start")
	if _, err := os.Stat(flag); err != nil || res.Outcome != wire.Started {
		t.Fatalf("the start answered %s before the service was ready: %v", res.Outcome, err)
	}
	st := h.waitStatus(pid, "status text", func(s wire.Status) bool { return s.StatusText == "serving" })
	if st.State != "running" || st.Ready != "notify" || st.NotifyRefused != 0 {
		t.Fatalf("%+v", st)
	}
}

// TestReadyNotifyNotFromOthers: READY=1 from a process that is not the
// service's (this test, a process of the same user) is refused: the
// service stays starting; not ready in time, its process is killed.
func TestReadyNotifyNotFromOthers(t *testing.T) {
	h := newHarness(t)
	pids := h.addAll(helper("svc", "ready: notify\nstart-timeout: 10m", nil) + helper("late", "ready: notify\nstart-timeout: 300ms", nil))
	pid := pids["svc"]
	ch := h.async(pid, "start")
	st := h.waitStatus(pid, "the process", func(s wire.Status) bool { return s.PID != 0 })
	path, err := notify.SocketPath(h.env.NotifyDir, "svc")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("READY=1"))
	c.Close()
	want := fmt.Sprintf("notify socket: datagrams refused: 1 (last: process %d is not one of the service's (main process %d))", os.Getpid(), st.PID)
	waitFor(t, "the refusal in the log", func() bool { return strings.Contains(h.log.String(), want) })
	if after := h.status(pid); after.NotifyRefused != 1 || after.State != "starting" {
		t.Fatalf("%+v", after)
	}
	h.result(h.call(pid, "stop"), "stop")
	if rep := h.await(ch, "start"); rep.OK || rep.Error.Reason != "stopped while starting" {
		t.Fatalf("start: %+v", rep)
	}
	if alive(st.PID) {
		t.Fatalf("process %d outlived the stop", st.PID)
	}
	// Not ready in time: the process is killed, the start fails.
	late := pids["late"]
	e := h.startFails(late, "start late")
	if e.Reason != "not ready after 300ms" {
		t.Fatalf("%+v", e)
	}
	ls := h.status(late)
	if ls.State != "failed" || ls.FailReason != e.Reason || ls.PID != 0 || ls.LastExit == nil || ls.LastExit.Signal != "SIGKILL" {
		t.Fatalf("%+v", ls)
	}
	if alive(ls.LastExit.PID) {
		t.Fatalf("process %d outlived its failed start", ls.LastExit.PID)
	}
}

// TestMinUptime: a process that exits before min-uptime failed to start,
// saying how and when, in the answer, status and history; one that lasts
// is running once min-uptime is over.
func TestMinUptime(t *testing.T) {
	h := newHarness(t)
	pids := h.addAll(`  - name: early
    command: [sh, -c, 'echo cannot bind; sleep 0.03']
    min-uptime: 1s
  - name: steady
    command: [sleep, "3600"]
    min-uptime: 300ms
`)
	e := h.startFails(pids["early"], "start early")
	re := regexp.MustCompile(`^exited with code 0 after \d+ms, before min-uptime 1s$`)
	if !re.MatchString(e.Reason) || e.Message != "failed to start service early: "+e.Reason {
		t.Fatalf("reason %q message %q", e.Reason, e.Message)
	}
	if len(e.Recent) != 1 || !strings.HasSuffix(e.Recent[0], " cannot bind") {
		t.Fatalf("last lines %q", e.Recent)
	}
	if st := h.status(pids["early"]); st.State != "failed" || st.FailReason != e.Reason {
		t.Fatalf("%+v", st)
	}
	evs := h.events("early", history.KindState)
	if last := evs[len(evs)-1]; last.State != "failed" || last.Message != e.Reason {
		t.Fatalf("history: %+v", last)
	}
	// Lines of an earlier attempt are not this one's (a second later:
	// lines are stamped to the second).
	time.Sleep(time.Second)
	if again := h.startFails(pids["early"], "start early again"); len(again.Recent) != 1 {
		t.Fatalf("last lines of the second attempt: %q", again.Recent)
	}
	begin := time.Now()
	h.result(h.call(pids["steady"], "start"), "start steady")
	if st := h.status(pids["steady"]); st.State != "running" || time.Since(begin) < 300*time.Millisecond {
		t.Fatalf("running after %v: %+v", time.Since(begin), st)
	}
}

// TestReadyFD: s6's notification fd: ready once a newline comes on it;
// the descriptors below it are closed in the process.
func TestReadyFD(t *testing.T) {
	h := newHarness(t)
	flag := filepath.Join(t.TempDir(), "ready")
	pid := h.add(fmt.Sprintf(`  - name: svc
    command: [sh, -c, 'sleep 0.3; touch %s; echo >&5; exec sleep 3600']
    ready: {fd: 5}
`, flag))
	h.result(h.call(pid, "start"), "start")
	if _, err := os.Stat(flag); err != nil {
		t.Fatalf("ready before the newline: %v", err)
	}
	main := h.status(pid).PID
	for _, fd := range []int{3, 4} {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", main, fd)); err == nil {
			t.Errorf("descriptor %d is open in the service: %s", fd, l)
		}
	}
}

// TestReadyProbes: each kind of probe against a real listener, server or
// command: the start answers once the probe succeeds, and a probe that
// never does fails the start with the last probe's error.
func TestReadyProbes(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	port := freePort(t)
	httpPort := freePort(t)
	pids := h.addAll(helper("tcp", fmt.Sprintf("ready: {tcp: '127.0.0.1:%d', interval: 50ms}", port),
		map[string]string{"HELPER_DELAY": "300ms", "HELPER_LISTEN": fmt.Sprintf("127.0.0.1:%d", port)}) +
		helper("http", fmt.Sprintf("ready: {http: 'http://127.0.0.1:%d/health', interval: 50ms}", httpPort),
			map[string]string{"HELPER_LISTEN": fmt.Sprintf("127.0.0.1:%d", httpPort), "HELPER_HTTP": "1", "HELPER_HTTP_OK": filepath.Join(dir, "http-ok")}) +
		helper("exec", fmt.Sprintf("ready: {exec: [test, -e, %q], interval: 50ms}", filepath.Join(dir, "exec-ok")),
			map[string]string{"HELPER_DELAY": "300ms", "HELPER_TOUCH": filepath.Join(dir, "exec-ok")}) +
		helper("never", fmt.Sprintf("ready: {tcp: '127.0.0.1:%d', interval: 50ms}\nstart-timeout: 2s", freePort(t)), nil))

	h.result(h.call(pids["tcp"], "start"), "tcp")
	if err := dialOnce(port); err != nil {
		t.Fatalf("tcp: started but not listening: %v", err)
	}
	ch := h.async(pids["http"], "start")
	h.waitStatus(pids["http"], "the http service", func(s wire.Status) bool { return s.PID != 0 })
	select {
	case rep := <-ch:
		t.Fatalf("http: started while answering 503: %+v", rep)
	case <-time.After(300 * time.Millisecond):
	}
	os.WriteFile(filepath.Join(dir, "http-ok"), nil, 0o644)
	if rep := h.await(ch, "http"); !rep.OK {
		t.Fatalf("http: %+v", rep.Error)
	}
	h.result(h.call(pids["exec"], "start"), "exec")
	if _, err := os.Stat(filepath.Join(dir, "exec-ok")); err != nil {
		t.Fatalf("exec: started before the command succeeded")
	}
	e := h.startFails(pids["never"], "never")
	if !strings.HasPrefix(e.Reason, "not ready after 2s (last probe: dial tcp 127.0.0.1:") || !strings.HasSuffix(e.Reason, "connection refused)") {
		t.Fatalf("never: %q", e.Reason)
	}
}

// TestReadyExecProbeFails: an exec probe's failure is in the reason, its
// exit code and last line.
func TestReadyExecProbeFails(t *testing.T) {
	h := newHarness(t)
	pid := h.add(`  - name: svc
    command: [sleep, "3600"]
    ready: {exec: [sh, -c, 'echo not yet; exit 3'], interval: 50ms, timeout: 1s}
    start-timeout: 3s
`)
	e := h.startFails(pid, "start")
	if e.Reason != "not ready after 3s (last probe: sh exited with code 3: not yet)" {
		t.Fatalf("%q", e.Reason)
	}
}

// TestWatchdog: a notify service that stops pinging is killed and
// respawned, and history says why; one that pings runs on.
func TestWatchdog(t *testing.T) {
	h := newHarness(t)
	pids := h.addAll(helper("silent", "ready: notify\nwatchdog: 300ms", map[string]string{"HELPER_NOTIFY": "READY=1"}) +
		helper("pinging", "ready: notify\nwatchdog: 3s", map[string]string{"HELPER_NOTIFY": "READY=1", "HELPER_PING": "50ms"}))
	h.result(h.call(pids["pinging"], "start"), "start pinging")
	h.result(h.call(pids["silent"], "start"), "start silent")
	first := h.status(pids["silent"]).PID
	h.waitStatus(pids["silent"], "a respawn", func(s wire.Status) bool { return s.State == "running" && s.PID != first && s.PID != 0 })
	evs := h.events("silent", history.KindExit)
	if len(evs) == 0 || evs[0].Signal != "SIGKILL" || evs[0].Message != "killed by the watchdog: no WATCHDOG=1 within 300ms" {
		t.Fatalf("history: %+v", evs)
	}
	if st := h.status(pids["pinging"]); st.Respawns != 0 || st.State != "running" {
		t.Fatalf("pinging: %+v", st)
	}
	// The watchdog's variables reached the process.
	env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", h.status(pids["pinging"]).PID))
	if !strings.Contains(string(env), "WATCHDOG_USEC=3000000\x00") || !strings.Contains(string(env), fmt.Sprintf("WATCHDOG_PID=%d\x00", h.status(pids["pinging"]).PID)) {
		t.Fatalf("environment: %q", env)
	}
}

// TestMainPID: MAINPID= names a child of the service, which becomes its
// main process; the exit of the first is no crash, and stop ends the
// second.
func TestMainPID(t *testing.T) {
	h := newHarness(t)
	pid := h.add(helper("svc", "ready: notify", map[string]string{"HELPER_MAINPID": "1", "HELPER_NOTIFY": "READY=1", "HELPER_EXIT": "0"}))
	h.result(h.call(pid, "start"), "start")
	st := h.waitStatus(pid, "the new main process", func(s wire.Status) bool { return s.PID != 0 && s.State == "running" })
	time.Sleep(100 * time.Millisecond) // the first process exits meanwhile: no respawn
	if after := h.status(pid); after.State != "running" || after.PID != st.PID || after.Respawns != 0 {
		t.Fatalf("after the launcher's exit: %+v", after)
	}
	h.result(h.call(pid, "stop"), "stop")
	if alive(st.PID) {
		t.Fatalf("main process %d outlived the stop", st.PID)
	}
}

// TestMainPIDOfAnotherProcessIsRefused: MAINPID= naming a process that is
// not the service's (init) changes nothing.
func TestMainPIDOfAnotherProcessIsRefused(t *testing.T) {
	h := newHarness(t)
	pid := h.add(helper("svc", "ready: notify", map[string]string{"HELPER_NOTIFY": "MAINPID=1\nREADY=1"}))
	h.result(h.call(pid, "start"), "start")
	if st := h.status(pid); st.PID == 1 || st.PID == 0 {
		t.Fatalf("main process %d", st.PID)
	}
	if !strings.Contains(h.log.String(), "MAINPID=1 names process 1, which is not a descendant of the service") {
		t.Fatalf("log:\n%s", h.log.String())
	}
}

// TestRespawnGoesThroughReadiness: after a crash the service is starting
// until it is ready again, and its dependents wait for that.
func TestRespawnGoesThroughReadiness(t *testing.T) {
	h := newHarness(t)
	pid := h.add(helper("svc", "ready: notify", map[string]string{"HELPER_DELAY": "300ms", "HELPER_NOTIFY": "READY=1"}))
	h.result(h.call(pid, "start"), "start")
	first := h.status(pid).PID
	syscall.Kill(first, syscall.SIGKILL)
	st := h.waitStatus(pid, "the respawn", func(s wire.Status) bool { return s.PID != first && s.PID != 0 })
	if st.State != "starting" {
		t.Fatalf("a respawned process not yet ready is %s", st.State)
	}
	h.waitStatus(pid, "ready again", func(s wire.Status) bool { return s.State == "running" })
}

func freePort(t *testing.T) int {
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func dialOnce(port int) error {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return err
	}
	io.WriteString(c, "x")
	return c.Close()
}

// TestReadyHandover: after a re-exec's handover the notify socket is
// there again at the same path: the running service's watchdog pings
// reach the new controller, which re-armed the watchdog, and its
// STATUS= is kept.
func TestReadyHandover(t *testing.T) {
	h := newHarness(t)
	pid := h.add(helper("svc", "ready: notify\nwatchdog: 3s", map[string]string{"HELPER_NOTIFY": "STATUS=up|READY=1", "HELPER_PING": "50ms"}))
	h.result(h.call(pid, "start"), "start")
	before := h.waitStatus(pid, "status text", func(s wire.Status) bool { return s.StatusText == "up" })
	saved := h.freeze(func(map[string]Saved) bool { return true }, "svc")
	h.sys.Root.StopFuture(pid).Wait()
	cs := RestoredController(h.env, saved["svc"], h.loggers["svc"], time.Now())
	var err error
	if pid, err = h.sys.Root.SpawnNamed(cs.Props(), pid.Id); err != nil {
		t.Fatal(err)
	}
	h.controllers["svc"] = pid
	accepted := func() uint64 {
		ch := make(chan uint64, 1)
		h.sys.Root.Send(pid, &Probe{F: func(st *ControllerState) {
			if st.rd == nil || st.rd.notify == nil {
				ch <- 0
				return
			}
			ch <- st.rd.notify.Stats().Accepted
		}})
		return <-ch
	}
	// Twenty pings (a second) on the new socket, well past the watchdog.
	waitFor(t, "pings on the new socket", func() bool { return accepted() >= 20 })
	after := h.status(pid)
	if after.PID != before.PID || after.Respawns != 0 || after.State != "running" || after.StatusText != "up" {
		t.Fatalf("after the handover: %+v", after)
	}
}
