package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/cli"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/herdtools"
	"github.com/shepherd-go/shepherd/cmd/internal/shepherdcli"
	"github.com/shepherd-go/shepherd/internal/freeport"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/internal/testsshd"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestMain lets the test binary act as herd and shepherd inside scripts,
// so scripts drive the real client against a real daemon process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"herd":       func() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"herd-tools": func() { os.Exit(herdtools.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"shepherd":   func() { os.Exit(shepherdcli.Main(os.Args[1:], os.Stdout, os.Stderr)) },
		// The daemon re-executes itself under this name to set up a
		// service's process (see proc.RunTrampolineIfAsked).
		proc.TrampolineName: proc.RunTrampolineIfAsked,
		// A client that sends whatever frame it is given: a hostile
		// local user, not herd.
		"rawcall":    rawCall,
		"connholder": connHolderMain,
		"callhammer": callHammerMain,
		"ptracehold": ptraceHold,
		"sdnotify":   sdNotifyMain,
		"sdlisten":   sdListenMain,
		"notifysink": notifySinkMain,
		"sockcall":   sockCallMain,
		"sockhammer": sockHammerMain,
		"sockhold":   sockHoldMain,
		"httpsay":    httpSayMain,
		"syslogsink": syslogSinkMain,
		"hookrecv":   hookRecvMain,
		"scrapeloop": scrapeLoopMain,
	})
}

// rawCall is the program `rawcall SOCKET FRAME [N]`: it sends FRAME (a
// JSON request) on SOCKET, N times (default 1) one after another on the
// one connection, and prints every reply frame. It exits 0 when the last
// reply to every request is ok, 1 otherwise.
func rawCall() {
	if len(os.Args) != 3 && len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: rawcall SOCKET FRAME [N]")
		os.Exit(2)
	}
	n := 1
	if len(os.Args) == 4 {
		n, _ = strconv.Atoi(os.Args[3])
	}
	c, err := net.Dial("unix", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(deadline))
	dec := wire.NewDecoder(c)
	code := 0
	for range n {
		if _, err := io.WriteString(c, os.Args[2]+"\n"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for {
			frame, err := dec.Next()
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Println(string(frame))
			var r wire.Reply
			if json.Unmarshal(frame, &r) != nil || !r.More {
				if !r.OK {
					code = 1
				}
				break
			}
		}
	}
	os.Exit(code)
}

// TestScripts runs testdata/*.txtar. Each starts its own shepherd on a
// socket in its work directory.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("SOCK", env.WorkDir+"/run/socket")
			env.Setenv("STATE", env.WorkDir+"/state")
			// The race detector otherwise sleeps a second at every exit
			// of herd and shepherd.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			// A daemon killed by its script leaves its cgroups.
			env.Defer(func() { removeCgroups(env.WorkDir) })
			// The importers' test files: real configurations no one
			// here wrote (import-*.txtar).
			importData, err := filepath.Abs("../../importer")
			env.Setenv("IMPORTDATA", importData)
			if err != nil {
				return err
			}
			// The tutorial's configuration (docs/tutorial.md), which
			// tutorial.txtar runs.
			tutorial, err := filepath.Abs("../../examples/tutorial")
			env.Setenv("TUTORIAL", tutorial)
			return err
		},
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			if cond == "race" {
				return raceEnabled, nil
			}
			if name, ok := strings.CutPrefix(cond, "program:"); ok {
				return haveProgram(name)
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile":      cmdWaitFile,
			"waitstate":     cmdWaitState,
			"svcpid":        cmdSvcPID,
			"signal":        cmdSignal,
			"gone":          cmdGone,
			"waitlog":       cmdWaitLog,
			"checkevents":   cmdCheckEvents,
			"waitexec":      cmdWaitExec,
			"nozombies":     cmdNoZombies,
			"signaldaemon":  cmdSignalDaemon,
			"shareddir":     cmdSharedDir,
			"ensureuser":    cmdEnsureUser,
			"asuser":        cmdAsUser,
			"setenvfile":    cmdSetenvFile,
			"freeport":      cmdFreePort,
			"mknet":         cmdMakeNet,
			"execfleet":     cmdExecFleet,
			"startsshd":     cmdStartSSHD,
			"holdconns":     cmdHoldConns,
			"pty":           cmdPty,
			"ptysession":    cmdPtySession,
			"mounttmpfs":    cmdMountTmpfs,
			"countprocs":    cmdCountProcs,
			"crashcycles":   cmdCrashCycles,
			"cgcount":       cmdCgCount,
			"cgprocs":       cmdCgProcs,
			"cgfamily":      cmdCgFamily,
			"childof":       cmdChildOf,
			"allgone":       cmdAllGone,
			"httpget":       cmdHTTPGet,
			"scrape":        cmdScrape,
			"tcpdown":       cmdTCPDown,
			"cgpath":        cmdCgPath,
			"delegcgroup":   cmdDelegCgroup,
			"herdjson":      cmdHerdJSON,
			"jsonfile":      cmdJSONFile,
			"jsoncovered":   cmdJSONCovered,
			"freeprefix":    cmdFreePrefix,
			"exitcode":      cmdExitCode,
			"seedhistory":   cmdSeedHistory,
			"pulledexactly": cmdPulledExactly,
		},
	})
}

// deadline bounds every wait in the scripts: long enough for a loaded CI
// machine, short enough that a hang fails rather than stalls. It was 20 s,
// and under stress-ng --cpu 2 (make test-stress) a daemon with 20,000
// services took longer than that to come up.
const deadline = 60 * time.Second

func poll(ts *testscript.TestScript, what string, f func() (bool, string)) {
	end := time.Now().Add(deadline)
	for {
		ok, last := f()
		if ok {
			return
		}
		if time.Now().After(end) {
			ts.Fatalf("timed out after %v waiting for %s (last: %s)", deadline, what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitfile FILE: wait until FILE exists (the daemon's --pid file).
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	path := ts.MkAbs(args[0])
	poll(ts, path, func() (bool, string) {
		_, err := os.Stat(path)
		return err == nil, fmt.Sprint(err)
	})
}

func status(ts *testscript.TestScript, service string) (wire.Status, error) {
	var s wire.Status
	r, err := daemonCall(ts.Getenv("SOCK"), wire.Request{Action: "status", Service: service}, 5*time.Second)
	if err == nil {
		err = json.Unmarshal(r.Result, &s)
	}
	return s, err
}

// daemonCall makes one request to the daemon at sock; a failed reply is
// returned as the error.
func daemonCall(sock string, req wire.Request, timeout time.Duration) (wire.Reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := local.Dial(ctx, sock)
	if err != nil {
		return wire.Reply{}, err
	}
	defer c.Close()
	r, err := c.Call(ctx, req)
	if err == nil && !r.OK {
		err = r.Error
	}
	return r, err
}

// waitstate SERVICE STATE [MIN_RESPAWNS]: wait until the service is in
// STATE (and, if given, has been respawned at least MIN_RESPAWNS times).
func cmdWaitState(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: waitstate SERVICE STATE [MIN_RESPAWNS]")
	}
	minRespawns := 0
	if len(args) == 3 {
		minRespawns, _ = strconv.Atoi(args[2])
	}
	poll(ts, args[0]+" "+args[1], func() (bool, string) {
		s, err := status(ts, args[0])
		if err != nil {
			return false, err.Error()
		}
		return s.State == args[1] && s.Respawns >= minRespawns, fmt.Sprintf("%s, %d respawns", s.State, s.Respawns)
	})
}

// svcpid SERVICE VAR: set VAR to the service's main PID.
func cmdSvcPID(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: svcpid SERVICE VAR")
	}
	// A process may run (and touch a file the script waited for) before
	// its controller has heard that the spawn succeeded: wait for the PID.
	var pid int
	poll(ts, "a process of "+args[0], func() (bool, string) {
		s, err := status(ts, args[0])
		ts.Check(err)
		pid = s.PID
		return pid != 0, "state " + s.State
	})
	ts.Setenv(args[1], strconv.Itoa(pid))
}

// signal SIG PID|FILE: send a signal (KILL, TERM, ...) to a process, or
// to the one whose PID FILE holds.
func cmdSignal(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: signal SIG PID|FILE")
	}
	sigs := map[string]syscall.Signal{"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP}
	sig, ok := sigs[args[0]]
	if !ok {
		ts.Fatalf("unknown signal %s", args[0])
	}
	pid, err := strconv.Atoi(pidArg(ts, args[1]))
	ts.Check(err)
	ts.Check(syscall.Kill(pid, sig))
}

// pidArg returns arg if it is a number, else the content of file arg.
func pidArg(ts *testscript.TestScript, arg string) string {
	if _, err := strconv.Atoi(arg); err == nil {
		return arg
	}
	b, err := os.ReadFile(ts.MkAbs(arg))
	ts.Check(err)
	return strings.TrimSpace(string(b))
}

// gone PID|FILE: wait until the process (or the one whose PID FILE holds)
// no longer exists, not even as a zombie.
func cmdGone(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: gone PID|FILE")
	}
	arg := pidArg(ts, args[0])
	poll(ts, "process "+arg+" to be gone", func() (bool, string) {
		b, err := os.ReadFile("/proc/" + arg + "/stat")
		if err != nil {
			return true, ""
		}
		return false, string(b)
	})
}

// waitlog FILE REGEXP: wait until FILE's content matches REGEXP.
func cmdWaitLog(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: waitlog FILE REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	path := ts.MkAbs(args[0])
	poll(ts, path+" to match "+args[1], func() (bool, string) {
		b, _ := os.ReadFile(path)
		return re.Match(b), string(b)
	})
}

// checkevents FOLLOWED ALL: every event in FOLLOWED (JSON lines of
// `events --follow --json`) is in ALL (`events --json`) unchanged;
// sequence numbers in ALL are unique, a process never exits before it
// started, and the last daemon-start comes after every followed event.
func cmdCheckEvents(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: checkevents FOLLOWED ALL")
	}
	var followed []wire.Event
	for _, line := range strings.Split(ts.ReadFile(args[0]), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		// A JSON line per event; the last may be the error that ended
		// the stream (the daemon was killed).
		var ev struct {
			wire.Event
			Error *wire.Error `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			ts.Fatalf("%s: %v", args[0], err)
		}
		if ev.Error == nil {
			followed = append(followed, ev.Event)
		}
	}
	var all wire.Events
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[1])), &all))
	bySeq := map[uint64]wire.Event{}
	var lastStart uint64
	for _, e := range all.Events {
		if _, dup := bySeq[e.Seq]; dup {
			ts.Fatalf("sequence %d appears twice", e.Seq)
		}
		bySeq[e.Seq] = e
		if e.Kind == "daemon-start" {
			lastStart = max(lastStart, e.Seq)
		}
		if e.Kind == "exit" && e.Runtime < 0 {
			ts.Fatalf("event #%d: process %d exited before it started (runtime %v)", e.Seq, e.PID, e.Runtime)
		}
	}
	if len(followed) < 50 {
		ts.Fatalf("only %d events were followed; the storm was too short to prove anything", len(followed))
	}
	for _, f := range followed {
		e, ok := bySeq[f.Seq]
		if !ok {
			ts.Fatalf("acknowledged event #%d (%s %s) lost", f.Seq, f.Service, f.Kind)
		}
		if e.Kind != f.Kind || e.Service != f.Service || e.PID != f.PID || !e.Time.Equal(f.Time) {
			ts.Fatalf("event #%d changed: followed %+v, stored %+v", f.Seq, f, e)
		}
		if f.Seq >= lastStart {
			ts.Fatalf("the restarted daemon's start (#%d) does not come after followed event #%d", lastStart, f.Seq)
		}
	}
	ts.Logf("%d followed events all present; restart is #%d", len(followed), lastStart)
}

// waitexec REGEXP PROG ARGS...: run PROG until its stdout matches REGEXP.
func cmdWaitExec(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: waitexec REGEXP PROG [ARG...]")
	}
	re, err := regexp.Compile(args[0])
	ts.Check(err)
	path, err := exec.LookPath(args[1])
	if err != nil {
		// Programs registered with testscript are found on its PATH.
		for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
			if p := filepath.Join(dir, args[1]); fileExists(p) {
				path, err = p, nil
				break
			}
		}
	}
	ts.Check(err)
	poll(ts, strings.Join(args[1:], " ")+" to print "+args[0], func() (bool, string) {
		cmd := exec.Command(path, args[2:]...)
		cmd.Env = append(os.Environ(), "PATH="+ts.Getenv("PATH"))
		out, _ := cmd.Output()
		return re.Match(out), string(out)
	})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// daemonPIDs finds, by their command line, the (host) PIDs of this
// script's daemon, the process started as shepherd with $SOCK.
func daemonPIDs(ts *testscript.TestScript) map[string]bool {
	sock := ts.Getenv("SOCK")
	daemons := map[string]bool{}
	stats, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, c := range stats {
		cmdline, _ := os.ReadFile(c)
		if strings.Contains(string(cmdline), sock) && filepath.Base(strings.SplitN(string(cmdline), "\x00", 2)[0]) == "shepherd" {
			daemons[filepath.Base(filepath.Dir(c))] = true
		}
	}
	if len(daemons) == 0 {
		ts.Fatalf("no daemon process found for %s", sock)
	}
	return daemons
}

// signaldaemon SIG: signal this script's daemon by its host PID (it may
// be PID 1 of a namespace of its own).
func cmdSignalDaemon(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: signaldaemon SIG")
	}
	for pid := range daemonPIDs(ts) {
		cmdSignal(ts, false, []string{args[0], pid})
	}
}

// nozombies: no zombie process has, as parent, the daemon of this script
// (the process whose command line names $SOCK), for a second.
func cmdNoZombies(ts *testscript.TestScript, neg bool, args []string) {
	daemons := daemonPIDs(ts)
	end := time.Now().Add(time.Second)
	for time.Now().Before(end) {
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, st := range stats {
			b, err := os.ReadFile(st)
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...: comm may hold spaces; parse after ')'.
			rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
			fields := strings.Fields(rest)
			if len(fields) > 1 && fields[0] == "Z" && daemons[fields[1]] {
				ts.Fatalf("zombie child of the daemon: %s", strings.TrimSpace(string(b)))
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shareddir VAR: make a directory other users can enter (0755, under
// /tmp, removed at the end) and set VAR to it: test directories are 0700.
func cmdSharedDir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: shareddir VAR")
	}
	dir, err := os.MkdirTemp("", "shepherd-shared-")
	ts.Check(err)
	ts.Check(os.Chmod(dir, 0o755))
	ts.Defer(func() { os.RemoveAll(dir) })
	ts.Setenv(args[0], dir)
}

// ensureuser NAME: create a system user NAME unless it exists.
func cmdEnsureUser(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: ensureuser NAME")
	}
	if _, err := user.Lookup(args[0]); err == nil {
		return
	}
	out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", args[0]).CombinedOutput()
	if err != nil {
		ts.Fatalf("useradd %s: %v\n%s", args[0], err, out)
	}
}

// asuser [-wait] USER herd ARGS...: run herd as USER (a copy of the test
// binary in a directory USER can read), with its output as the command's.
// With -wait, run it again until it succeeds (fails, with !), within the
// deadline.
func cmdAsUser(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) > 0 && args[0] == "-wait" {
		poll(ts, "herd as "+strings.Join(args[1:], " "), func() (bool, string) {
			err := runAs(ts, args[1:], io.Discard, io.Discard)
			return (err == nil) != neg, fmt.Sprint(err)
		})
		args = args[1:]
	}
	err := runAs(ts, args, ts.Stdout(), ts.Stderr())
	if neg && err == nil {
		ts.Fatalf("unexpected success")
	}
	if !neg && err != nil {
		ts.Fatalf("herd as %s: %v", args[0], err)
	}
}

func runAs(ts *testscript.TestScript, args []string, stdout, stderr io.Writer) error {
	if len(args) < 2 || args[1] != "herd" && args[1] != "rawcall" && args[1] != "sdnotify" {
		ts.Fatalf("usage: asuser [-wait] USER herd|rawcall|sdnotify [ARG...]")
	}
	u, err := user.Lookup(args[0])
	ts.Check(err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	prog := sharedHerd(ts)
	if args[1] != "herd" {
		prog = filepath.Join(filepath.Dir(prog), args[1])
	}
	cmd := exec.Command(prog, args[2:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	return cmd.Run()
}

// setenvfile VAR FILE: set VAR to FILE's content, trimmed.
func cmdSetenvFile(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: setenvfile VAR FILE")
	}
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}

// sharedHerd copies the test binary, as herd, where any user can run it.
func sharedHerd(ts *testscript.TestScript) string {
	if p := ts.Getenv("SHARED_HERD"); p != "" {
		return p
	}
	self, err := os.Executable()
	ts.Check(err)
	dir, err := os.MkdirTemp("", "shepherd-herd-")
	ts.Check(err)
	ts.Check(os.Chmod(dir, 0o755))
	ts.Defer(func() { os.RemoveAll(dir) })
	b, err := os.ReadFile(self)
	ts.Check(err)
	p := filepath.Join(dir, "herd")
	ts.Check(os.WriteFile(p, b, 0o755))
	ts.Setenv("SHARED_HERD", p)
	// herd runs herd-tools, found beside it, for fleet, hosts, import
	// and config.
	ts.Check(os.WriteFile(filepath.Join(dir, "herd-tools"), b, 0o755))
	// The same binary acts as the daemon when named shepherd.
	d := filepath.Join(dir, "shepherd")
	ts.Check(os.WriteFile(d, b, 0o755))
	ts.Setenv("SHARED_SHEPHERD", d)
	ts.Check(os.WriteFile(filepath.Join(dir, "rawcall"), b, 0o755))
	// sdnotify, for services of other users (SHARED_SDNOTIFY).
	n := filepath.Join(dir, "sdnotify")
	ts.Check(os.WriteFile(n, b, 0o755))
	ts.Setenv("SHARED_SDNOTIFY", n)
	return p
}

// freeport VAR: set VAR to a TCP port of 127.0.0.1 that is free now (for a
// daemon that must come back on the same address).
func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	port, err := freeport.Get()
	ts.Check(err)
	ts.Setenv(args[0], strconv.Itoa(port))
}

// mknet HOST...: give each HOST a network namespace of its own, joined to
// this one by a veth pair: HOST is at 10.77.N.2, this side at 10.77.N.1.
// It sets NS_HOST (the namespace), IP_HOST and LINK_HOST (this side's
// interface, to cut and heal), and removes it all when the script ends.
func cmdMakeNet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: mknet HOST...")
	}
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			ts.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	tag := fmt.Sprintf("%04x", os.Getpid()&0xffff)
	for i, h := range args {
		ns, link, peer := "shep-"+tag+"-"+h, fmt.Sprintf("vs%s%d", tag, i), fmt.Sprintf("vp%s%d", tag, i)
		hostIP, ourIP := fmt.Sprintf("10.77.%d.2", i+1), fmt.Sprintf("10.77.%d.1", i+1)
		ip("netns", "add", ns)
		ts.Defer(func() { exec.Command("ip", "netns", "del", ns).Run() })
		ip("link", "add", link, "type", "veth", "peer", "name", peer)
		ts.Defer(func() { exec.Command("ip", "link", "del", link).Run() })
		ip("link", "set", peer, "netns", ns)
		ip("addr", "add", ourIP+"/24", "dev", link)
		ip("link", "set", link, "up")
		ip("-n", ns, "addr", "add", hostIP+"/24", "dev", peer)
		ip("-n", ns, "link", "set", peer, "up")
		ip("-n", ns, "link", "set", "lo", "up")
		up := strings.ToUpper(h)
		ts.Setenv("NS_"+up, ns)
		ts.Setenv("IP_"+up, hostIP)
		ts.Setenv("LINK_"+up, link)
	}
}

// execfleet N INVENTORY: start N shepherds (node01..nodeN) listening on
// loopback, each in a directory of its own under $WORK/fleet (its working
// directory: a file there tells hosts apart), each granting the daemon at
// $SOCK an exec capability for 'uname -n', 'true' and 'sh -c *'; write
// INVENTORY with them (role web for the first three quarters, db for the
// rest; env prod for odd numbers, staging for even ones). The daemons stop
// when the script ends.
//
// With MOUNT (a directory, made), each daemon runs in a mount namespace
// of its own (unshare, root only) in which its directory's root/ is bound
// at MOUNT, so that one path names a different file on every host; each
// then also grants the daemon at $SOCK a file capability (write and read
// on MOUNT/**, up to 20M), the files: key of its inventory entry.
func cmdExecFleet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 && len(args) != 3 {
		ts.Fatalf("usage: execfleet N INVENTORY [MOUNT]")
	}
	mount := ""
	if len(args) == 3 {
		mount = ts.MkAbs(args[2])
		ts.Check(os.MkdirAll(mount, 0o755))
	}
	n, _ := strconv.Atoi(args[0])
	call := func(sock string, req wire.Request) wire.Reply {
		rep, err := daemonCall(sock, req, deadline)
		if err != nil {
			ts.Fatalf("%s %s: %v", sock, req.Action, err)
		}
		return rep
	}
	var id wire.NetID
	json.Unmarshal(call(ts.Getenv("SOCK"), wire.Request{Action: "id"}).Result, &id)
	shepherd, err := exec.LookPath("shepherd")
	ts.Check(err)
	var inv strings.Builder
	inv.WriteString("hosts:\n")
	type node struct {
		name, dir string
		cmd       *exec.Cmd
	}
	var nodes []node
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("node%02d", i)
		dir := ts.MkAbs(filepath.Join("fleet", name))
		ts.Check(os.MkdirAll(dir, 0o700))
		ts.Check(os.WriteFile(filepath.Join(dir, "services.yaml"), []byte("services: []\n"), 0o644))
		cmd := exec.Command(shepherd, "-c", "services.yaml", "-s", filepath.Join(dir, "run", "socket"), "--state", filepath.Join(dir, "state"),
			"--pid", filepath.Join(dir, "pid"), "-l", filepath.Join(dir, "log"), "--listen", "/ip4/127.0.0.1/tcp/0")
		if mount != "" {
			root := filepath.Join(dir, "root")
			ts.Check(os.MkdirAll(root, 0o755))
			cmd = exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c",
				`mount --bind "$0" "$1" && shift && exec "$@"`, root, mount}, cmd.Args...)...)
		}
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+ts.Getenv("PATH"), "GORACE=atexit_sleep_ms=0")
		ts.Check(cmd.Start())
		ts.Defer(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		})
		nodes = append(nodes, node{name, dir, cmd})
	}
	for i, nd := range nodes {
		poll(ts, nd.name+" to start", func() (bool, string) {
			_, err := os.Stat(filepath.Join(nd.dir, "pid"))
			return err == nil, fmt.Sprint(err)
		})
		b, _ := json.Marshal(map[string]any{"service": "exec", "allow": []string{"uname -n", "true", "sh -c *"}, "peer": id.PeerID})
		var info wire.CapInfo
		json.Unmarshal(call(filepath.Join(nd.dir, "run", "socket"), wire.Request{Action: "cap-grant", Args: []string{string(b)}}).Result, &info)
		role, env := "web", "prod"
		if i >= n*3/4 {
			role = "db"
		}
		if (i+1)%2 == 0 {
			env = "staging"
		}
		fmt.Fprintf(&inv, "  %s:\n    address: %q\n    tags: {role: %s, env: %s}\n", nd.name, info.Ref, role, env)
		if mount != "" {
			b, _ := json.Marshal(map[string]any{"service": "files", "actions": []string{"write", "read"}, "paths": []string{mount + "/**"},
				"max_size": 20 << 20, "peer": id.PeerID})
			rep := call(filepath.Join(nd.dir, "run", "socket"), wire.Request{Action: "cap-grant", Args: []string{string(b)}})
			if !rep.OK {
				ts.Fatalf("%s: files capability: %s", nd.name, rep.Error.Message)
			}
			json.Unmarshal(rep.Result, &info)
			fmt.Fprintf(&inv, "    files: %q\n", info.Ref)
		}
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(inv.String()), 0o644))
}

// startsshd PORTVAR KEYVAR [NAME=VALUE...]: start a real sshd on loopback
// accepting a new user key ($WORK/id_ed25519, made once: further servers
// accept it too), its sessions with the variables given (PATH: programs
// the script provides); set PORTVAR to its port and KEYVAR to the key's
// file. The server stops when the script ends, and so does any shepherd
// a bootstrap left in $WORK/remote*.
func cmdStartSSHD(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: startsshd PORTVAR KEYVAR [NAME=VALUE...]")
	}
	bin, err := testsshd.Binary()
	if err != nil {
		ts.Fatalf("%v (CI installs openssh-server and runs as root)", err)
	}
	// A second server (another PORTVAR) accepts the same key and lives
	// in a directory of its own: sshd-PORTVAR.
	key, dir := ts.MkAbs("id_ed25519"), ts.MkAbs("sshd")
	if _, err := os.Stat(key); err != nil {
		ts.Check(testsshd.Keygen(key))
	} else if _, err := os.Stat(dir); err == nil {
		dir = ts.MkAbs("sshd-" + args[0])
	}
	s, err := testsshd.Start(bin, dir, key+".pub", 0, testsshd.SetEnv(args[2:]...))
	ts.Check(err)
	ts.Defer(func() {
		s.Stop()
		pids, _ := filepath.Glob(ts.MkAbs("remote*/pid"))
		for _, f := range pids {
			if b, err := os.ReadFile(f); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					syscall.Kill(pid, syscall.SIGTERM)
				}
			}
		}
	})
	ts.Setenv(args[0], strconv.Itoa(s.Port))
	ts.Setenv(args[1], key)
}

// holdconns USER N: run, as USER, a client that opens N connections to
// $SOCK and keeps them, sending an empty frame on each every 200 ms (which
// once kept a connection from being idle); return once all are open, its
// PID in $HOLDCONNS_PID.
func cmdHoldConns(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: holdconns USER N")
	}
	u, err := user.Lookup(args[0])
	ts.Check(err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	prog := filepath.Join(filepath.Dir(sharedHerd(ts)), "connholder")
	if _, err := os.Stat(prog); err != nil {
		b, err := os.ReadFile(sharedHerd(ts))
		ts.Check(err)
		ts.Check(os.WriteFile(prog, b, 0o755))
	}
	cmd := exec.Command(prog, ts.Getenv("SOCK"), args[1])
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cmd.Stderr = ts.Stderr()
	out, err := cmd.StdoutPipe()
	ts.Check(err)
	ts.Check(cmd.Start())
	ts.Defer(func() { cmd.Process.Kill(); cmd.Wait() })
	ts.Setenv("HOLDCONNS_PID", strconv.Itoa(cmd.Process.Pid))
	line := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(out, 100))
		line <- strings.TrimSpace(string(b))
	}()
	select {
	case l := <-line:
		if l != "dialed "+args[1] {
			ts.Fatalf("connholder: %q", l)
		}
	case <-time.After(deadline):
		ts.Fatalf("holdconns: not all %s connections open after %v", args[1], deadline)
	}
}

// connHolderMain is the program holdconns runs: connholder SOCKET N.
func connHolderMain() {
	n, _ := strconv.Atoi(os.Args[2])
	var conns []net.Conn
	for i := range n {
		c, err := net.Dial("unix", os.Args[1])
		if err != nil {
			fmt.Fprintf(os.Stderr, "connholder: connection %d: %v\n", i, err)
			os.Exit(1)
		}
		conns = append(conns, c)
	}
	fmt.Printf("dialed %d\n", n)
	os.Stdout.Close()
	for {
		for _, c := range conns {
			c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			c.Write([]byte("\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// callHammerMain is a load of clients for reexec-clients.txtar:
// callhammer SOCKET N DIR. N workers (N <= 8) call the daemon at SOCKET
// until DIR/stop exists, each a status of everything, a status, a stop
// and a start of a service of its own (svcI); the even ones keep one
// connection for all their calls, the odd ones dial anew for each round.
// One more follows svc1's log, again whenever its stream ends. Every call
// must get its reply: a transport error (EOF) or a failed reply is
// counted and printed. DIR/round exists once every worker has finished a
// round since DIR/round was last removed, so that a script can make sure
// that each re-exec meets calls in flight. At the end it prints "calls C,
// streams ended by re-exec R, errors E" (exit 1 with errors).
func callHammerMain() {
	sock, dir := os.Args[1], os.Args[3]
	n, _ := strconv.Atoi(os.Args[2])
	var (
		mu                sync.Mutex
		calls, reexecEnds int
		errs              []string
		round             = 1              // guarded by mu
		done              = make([]int, n) // the round each worker last finished; guarded by mu
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		errs = append(errs, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	stopped := func() bool { return fileExists(filepath.Join(dir, "stop")) }
	call := func(c *local.Client, req wire.Request) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		rep, err := c.Call(ctx, req)
		mu.Lock()
		calls++
		mu.Unlock()
		switch {
		case err != nil:
			fail("%s %s: %v", req.Action, req.Service, err)
			return false
		case !rep.OK:
			fail("%s %s: %s: %s", req.Action, req.Service, rep.Error.Kind, rep.Error.Message)
		}
		return true
	}
	dial := func() *local.Client {
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			c, err := local.Dial(ctx, sock)
			cancel()
			if err == nil {
				return c
			}
			fail("dial: %v", err)
		}
	}
	var wg sync.WaitGroup
	for i := range n {
		svc := fmt.Sprintf("svc%d", i+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *local.Client
			for !stopped() {
				mu.Lock()
				r := round
				mu.Unlock()
				if c == nil {
					c = dial()
				}
				ok := call(c, wire.Request{Action: "status"}) &&
					call(c, wire.Request{Action: "status", Service: svc}) &&
					call(c, wire.Request{Action: "stop", Service: svc}) &&
					call(c, wire.Request{Action: "start", Service: svc})
				if !ok || i%2 == 1 {
					c.Close()
					c = nil
				}
				mu.Lock()
				done[i] = r
				mu.Unlock()
			}
		}()
	}
	ctx, cancel := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stopped() {
			c := dial()
			err := c.Stream(ctx, wire.Request{Action: "log", Service: "svc1", Args: []string{"-n", "1", "-f"}}, func(r wire.Reply) error {
				if !r.OK {
					return r.Error
				}
				return nil
			})
			var we *wire.Error
			switch {
			case errors.As(err, &we) && strings.Contains(we.Message, "re-executing"):
				mu.Lock()
				reexecEnds++
				mu.Unlock()
			case err != nil && ctx.Err() == nil:
				fail("log -f svc1: %v", err)
			case err == nil:
				fail("log -f svc1: the stream ended without a word")
			}
			c.Close()
		}
	}()
	// Rounds: DIR/round is created once every worker has finished a round
	// begun after the round started; its removal starts the next.
	roundFile := filepath.Join(dir, "round")
	created := false
	for !stopped() {
		exists := fileExists(roundFile)
		mu.Lock()
		if created && !exists {
			round++
			created = false
		}
		all := true
		for _, d := range done {
			all = all && d >= round
		}
		mu.Unlock()
		if all && !created {
			os.WriteFile(roundFile, nil, 0o644)
			created = true
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	fmt.Printf("calls %d, streams ended by re-exec %d, errors %d\n", calls, reexecEnds, len(errs))
	for i, e := range errs {
		if i == 20 {
			fmt.Printf("...\n")
			break
		}
		fmt.Println(e)
	}
	if len(errs) > 0 {
		os.Exit(1)
	}
}

// mounttmpfs DIR SIZE: mount a tmpfs of SIZE (e.g. 16m) on DIR, created
// if need be, for a filesystem the script can fill; it is unmounted when
// the script ends. Root only.
func cmdMountTmpfs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mounttmpfs DIR SIZE")
	}
	dir := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dir, 0o700))
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+args[1]+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		ts.Fatalf("mount tmpfs on %s: %v\n%s", dir, err, out)
	}
	ts.Defer(func() { exec.Command("umount", "-l", dir).Run() })
}

// sdNotifyMain is the program `sdnotify [-sleep] SOCKET|- MSG...`: it
// sends each MSG as a datagram to SOCKET (- for $NOTIFY_SOCKET), as
// sd_notify(3) does, then waits until the daemon has judged them (a
// BARRIER=1, as systemd-notify does), and with -sleep sleeps until
// killed (a notify service). It exits 1, saying why, if a send fails.
func sdNotifyMain() {
	args := os.Args[1:]
	sleep := len(args) > 0 && args[0] == "-sleep"
	if sleep {
		args = args[1:]
	}
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sdnotify [-sleep] SOCKET|- MSG...")
		os.Exit(2)
	}
	path := args[0]
	if path == "-" {
		path = os.Getenv("NOTIFY_SOCKET")
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "sdnotify:", err)
		os.Exit(1)
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		fail(err)
	}
	to := &syscall.SockaddrUnix{Name: path}
	for _, m := range args[1:] {
		if err := syscall.Sendmsg(fd, []byte(strings.ReplaceAll(m, `\n`, "\n")), nil, to, 0); err != nil {
			fail(err)
		}
	}
	// The barrier: the write end of a pipe, closed by the daemon once it
	// has read what came before.
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		fail(err)
	}
	if err := syscall.Sendmsg(fd, []byte("BARRIER=1"), syscall.UnixRights(p[1]), to, 0); err != nil {
		fail(err)
	}
	syscall.Close(p[1])
	syscall.SetNonblock(p[0], true)
	r := os.NewFile(uintptr(p[0]), "barrier")
	r.SetReadDeadline(time.Now().Add(deadline))
	if _, err := r.Read(make([]byte, 1)); err != io.EOF {
		fail(fmt.Errorf("barrier: %v", err))
	}
	if sleep {
		select {}
	}
}

// haveProgram is the condition [program:NAME]: NAME is installed (in
// PATH, or /usr/sbin and /sbin, where Debian puts daemons). On CI, which
// installs the programs the scripts use (.ci/run), a missing one is an
// error rather than a reason to skip.
func haveProgram(name string) (bool, error) {
	if _, err := exec.LookPath(name); err == nil {
		return true, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/lib/systemd"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true, nil
		}
	}
	// Debian keeps PostgreSQL's server programs (initdb, postgres) out
	// of PATH, in a directory per major version.
	if found, _ := filepath.Glob(filepath.Join("/usr/lib/postgresql/*/bin", name)); len(found) > 0 {
		return true, nil
	}
	if os.Getenv("CI") != "" {
		return false, fmt.Errorf("%s is not installed, and CI installs it (.ci/run)", name)
	}
	return false, nil
}
