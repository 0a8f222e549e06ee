package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/testscript"
)

// ptysession STEPS PROG [ARG...]: run PROG (found on the script's PATH)
// as a user would at a terminal: in a new session whose controlling
// terminal is a pseudo-terminal holding its stdin, stdout and stderr
// (so Ctrl-C there is SIGINT to it), and follow the steps of the file
// STEPS, one a line:
//
//	expect RE      wait until what it printed since the last match matches RE
//	send TEXT      type TEXT; \r \t \xHH \\ are escapes (\x03 Ctrl-C, \x04 Ctrl-D, \x12 Ctrl-R)
//	within D       the next expect must match within D (else the deadline)
//	waitfile PATH  wait until PATH exists
//	exit N         wait for PROG to exit, with code N
//
// Lines starting with # are comments. What PROG printed, its control
// sequences (CSI) and carriage returns taken out, becomes the command's
// stdout. The environment is the script's PATH, HOME, SOCK and XDG_*
// variables.
func cmdPtySession(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: ptysession STEPS PROG [ARG...]")
	}
	steps, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	path := args[1]
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		if p := filepath.Join(dir, args[1]); fileExists(p) {
			path = p
			break
		}
	}
	cmd := exec.Command(path, args[2:]...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = append(os.Environ(), "PATH="+ts.Getenv("PATH"), "HOME="+ts.Getenv("HOME"), "GORACE=atexit_sleep_ms=0")
	for _, v := range []string{"SOCK", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR"} {
		if val := ts.Getenv(v); val != "" {
			cmd.Env = append(cmd.Env, v+"="+val)
		}
	}
	master, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	ts.Check(err)
	defer master.Close()
	exited := make(chan error, 1)
	ended := make(chan struct{}) // closed once PROG has exited
	go func() {
		err := cmd.Wait()
		close(ended)
		exited <- err
	}()
	finished := false
	defer func() {
		if !finished {
			cmd.Process.Kill()
			<-exited
		}
	}()

	var mu sync.Mutex
	var out bytes.Buffer
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return // EIO once no one has the terminal open
			}
		}
	}()
	csi := regexp.MustCompile("\x1b\\[[0-9;?]*[A-Za-z]|\r")
	text := func() string {
		mu.Lock()
		defer mu.Unlock()
		return csi.ReplaceAllString(out.String(), "")
	}
	defer func() { ts.Stdout().Write([]byte(text())) }()

	seen := 0 // what the expects matched so far
	limit := time.Duration(0)
	sc := bufio.NewScanner(bytes.NewReader(steps))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verb, arg, _ := strings.Cut(line, " ")
		where := fmt.Sprintf("%s:%d: %s", args[0], n, line)
		wait := deadline
		if limit > 0 {
			wait, limit = limit, 0
		}
		switch verb {
		case "expect":
			re, err := regexp.Compile(arg)
			if err != nil {
				ts.Fatalf("%s: %v", where, err)
			}
			start := time.Now()
			end := start.Add(wait)
			for {
				t := text()
				if loc := re.FindStringIndex(t[seen:]); loc != nil {
					seen += loc[1]
					ts.Logf("%s: matched after %v", where, time.Since(start).Round(time.Millisecond))
					break
				}
				if time.Now().After(end) {
					ts.Fatalf("%s: not printed within %v; since the last match: %q", where, wait, t[seen:])
				}
				select {
				case <-ended:
					// What it printed last may still be on its way.
					time.Sleep(100 * time.Millisecond)
					if t := text(); !re.MatchString(t[seen:]) {
						ts.Fatalf("%s: %s exited; since the last match: %q", where, args[1], t[seen:])
					}
				case <-time.After(20 * time.Millisecond):
				}
			}
		case "send":
			b, err := unescape(arg)
			if err != nil {
				ts.Fatalf("%s: %v", where, err)
			}
			_, err = master.Write(b)
			ts.Check(err)
		case "within":
			if limit, err = time.ParseDuration(arg); err != nil {
				ts.Fatalf("%s: %v", where, err)
			}
		case "waitfile":
			p := ts.MkAbs(arg)
			end := time.Now().Add(wait)
			for {
				if _, err := os.Stat(p); err == nil {
					break
				}
				if time.Now().After(end) {
					ts.Fatalf("%s: no such file after %v", where, wait)
				}
				time.Sleep(20 * time.Millisecond)
			}
		case "exit":
			want, err := strconv.Atoi(arg)
			if err != nil {
				ts.Fatalf("%s: %v", where, err)
			}
			select {
			case err := <-exited:
				finished = true
				code := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					code = ee.ExitCode()
					if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
						ts.Fatalf("%s: killed by %v", where, ws.Signal())
					}
				} else if err != nil {
					ts.Fatalf("%s: %v", where, err)
				}
				if code != want {
					ts.Fatalf("%s: exit code %d", where, code)
				}
			case <-time.After(wait):
				ts.Fatalf("%s: still running after %v", where, wait)
			}
		default:
			ts.Fatalf("%s: unknown step %s", where, verb)
		}
	}
	if !finished {
		ts.Fatalf("%s: the steps end while %s still runs (end them with exit N)", args[0], args[1])
	}
}

// unescape turns \r, \n, \t, \e, \xHH and \\ into their bytes.
func unescape(s string) ([]byte, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b = append(b, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'r':
			b = append(b, '\r')
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'e':
			b = append(b, 0x1b)
		case '\\':
			b = append(b, '\\')
		case 'x':
			if i+3 > len(s) {
				return nil, fmt.Errorf("\\x needs two hex digits")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("\\x%s: %v", s[i+1:i+3], err)
			}
			b = append(b, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return b, nil
}
