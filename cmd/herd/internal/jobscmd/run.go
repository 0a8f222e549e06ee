package jobscmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/jobs"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// Exit codes of herd run besides the command's own.
const (
	ExitTimedOut   = 124 // as timeout(1)
	ExitCannotExec = 126
	ExitNotFound   = 127
)

// reportTimeout bounds each report to the daemon: a daemon that does not
// answer never holds up the job's exit for long.
const reportTimeout = 10 * time.Second

// killGrace is how long a timed-out command has between SIGTERM and
// SIGKILL.
const killGrace = 5 * time.Second

type runOpts struct {
	name    string
	onError bool
	timeout time.Duration
	to      string
}

// NewCmdRun is `herd run --name NAME [--on-error] [--timeout D] [--to REF] -- CMD ARGS`.
func NewCmdRun(f *cmdutil.Factory) *cobra.Command {
	var o runOpts
	cmd := &cobra.Command{
		Use:   "run --name NAME [--on-error] [--timeout D] [--to STURDYREF] -- CMD [ARG...]",
		Short: "Run a command as a tracked job: report its start, end and last lines to the daemon; exit with its status",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.name == "" {
				return cmdutil.UsageError("run: --name is required")
			}
			if err := jobs.CheckName(o.name); err != nil {
				return cmdutil.UsageError("run: " + err.Error())
			}
			if o.timeout < 0 {
				return cmdutil.UsageError("run: --timeout must be positive")
			}
			code := run(f, o, args)
			if code != 0 {
				return cmdutil.Failure{Code: code}
			}
			return nil
		},
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringVar(&o.name, "name", "", "the job's name (letters, digits, . _ @ -)")
	cmd.Flags().BoolVar(&o.onError, "on-error", false, "print the command's output only if it fails (for cron: no mail on success)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 0, "kill the command's process group after this long (SIGTERM, then SIGKILL 5s later); exit 124")
	cmd.Flags().StringVar(&o.to, "to", "", "report to the daemon of this job capability (herd cap grant job:NAME --actions report) instead of the local one")
	return cmd
}

// reporter sends the job's reports; a failure is a warning: the
// command runs and herd exits with its status whatever the daemon says.
type reporter struct {
	f    *cmdutil.Factory
	o    runOpts
	warn bool // a warning was printed
}

func (r *reporter) send(action string, v any, into any) bool {
	b, _ := json.Marshal(v)
	req := wire.Request{Action: action, Args: []string{string(b)}, Cap: r.f.Cap}
	if r.o.to != "" {
		req.Cap = r.o.to
	}
	rep, err := r.f.QuietCall(req, reportTimeout)
	if err != nil {
		what := "its start"
		if action == jobs.ActionEnd {
			what = "its end"
		}
		fmt.Fprintf(r.f.Err, "herd: warning: job %s: %s was not recorded: %v\n", r.o.name, what, err)
		if hint := cmdutil.DialHint(err); hint != "" && !r.warn {
			fmt.Fprintln(r.f.Err, hint)
		}
		r.warn = true
		return false
	}
	if into != nil && len(rep.Result) > 0 {
		json.Unmarshal(rep.Result, into)
	}
	return true
}

// output collects a stream: to herd's own (or a spool with --on-error)
// and, line by line, into the shared tail.
type output struct {
	mu      *sync.Mutex
	tail    *jobs.Tail
	to      io.Writer
	partial []byte
}

func (o *output) copy(r io.Reader, done chan<- struct{}) {
	defer close(done)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			// One writer at a time: with --json both streams go to
			// herd's stderr.
			o.mu.Lock()
			o.to.Write(buf[:n])
			o.feed(buf[:n])
			o.mu.Unlock()
		}
		if err != nil {
			o.mu.Lock()
			if len(o.partial) > 0 {
				o.tail.Write(append(o.partial, '\n'))
				o.partial = nil
			}
			o.mu.Unlock()
			return
		}
	}
}

// feed gives the tail whole lines only, so that the two streams'
// lines do not mix.
func (o *output) feed(p []byte) {
	i := strings.LastIndexByte(string(p), '\n')
	if i < 0 {
		if len(o.partial) <= jobs.MaxLineBytes {
			o.partial = append(o.partial, p[:min(len(p), jobs.MaxLineBytes+1-len(o.partial))]...)
		}
		return
	}
	if len(o.partial) > 0 {
		o.tail.Write(o.partial)
		o.partial = o.partial[:0]
	}
	o.tail.Write(p[:i+1])
	rest := p[i+1:]
	o.partial = append(o.partial, rest[:min(len(rest), jobs.MaxLineBytes+1)]...)
}

// spoolFile is an unlinked temporary file for --on-error's output.
func spoolFile() (*os.File, error) {
	s, err := os.CreateTemp("", "herd-run-*")
	if err != nil {
		return nil, err
	}
	os.Remove(s.Name())
	return s, nil
}

// run runs the job and returns herd's exit code.
func run(f *cmdutil.Factory, o runOpts, argv []string) int {
	rep := &reporter{f: f, o: o}
	started := time.Now()
	var st jobs.Started
	rep.send(jobs.ActionStart, jobs.StartReport{Job: o.name, Command: argv, Started: started}, &st)
	end := jobs.EndReport{Job: o.name, Run: st.Run, Command: argv, Started: started}

	fail := func(code int, err error) int {
		end.Error, end.Duration = err.Error(), time.Since(started)
		rep.send(jobs.ActionEnd, end, nil)
		if f.JSON {
			f.PrintDoc(runDoc(st.Run, end))
		} else {
			fmt.Fprintf(f.Err, "herd: error: job %s: %v\n", o.name, err)
		}
		return code
	}
	path, err := proc.LookPath(argv[0], os.Getenv("PATH"))
	if err != nil {
		return fail(ExitNotFound, err)
	}
	var spools [2]*os.File
	if o.onError {
		for i := range spools {
			if spools[i], err = spoolFile(); err != nil {
				return fail(ExitCannotExec, fmt.Errorf("--on-error: %w", err))
			}
			defer spools[i].Close()
		}
	}
	er, ew, err := os.Pipe()
	if err != nil {
		return fail(ExitCannotExec, err)
	}
	exits := make(chan proc.Exit, 16)
	stopReap := make(chan struct{})
	defer close(stopReap)
	go proc.Reap(func(e proc.Exit) { exits <- e }, stopReap, nil)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)

	stdin := os.Stdin
	if _, err := stdin.Stat(); err != nil {
		// No standard input at all (a closed fd 0): /dev/null.
		if stdin, err = os.Open(os.DevNull); err != nil {
			return fail(ExitCannotExec, err)
		}
		defer stdin.Close()
	}
	pid, outFD, h, err := proc.Start(proc.Spec{Path: path, Argv: argv, Env: os.Environ(), Stdin: stdin, Stderr: ew})
	ew.Close()
	if err != nil {
		er.Close()
		code := ExitCannotExec
		if errors.Is(err, unix.ENOENT) {
			code = ExitNotFound
		}
		return fail(code, err)
	}
	defer h.Close()
	outR := os.NewFile(uintptr(outFD), "stdout")
	defer outR.Close()
	defer er.Close()

	var mu sync.Mutex
	tail := &jobs.Tail{}
	streams := []*output{
		{mu: &mu, tail: tail, to: cmdutil.RawWriter(f.Out)},
		{mu: &mu, tail: tail, to: cmdutil.RawWriter(f.Err)},
	}
	if f.JSON {
		// stdout is the run's document alone: the command's goes to stderr.
		streams[0].to = cmdutil.RawWriter(f.Err)
	}
	var dones []chan struct{}
	for i, r := range []io.Reader{outR, er} {
		if o.onError {
			streams[i].to = spools[i]
		}
		done := make(chan struct{})
		dones = append(dones, done)
		go streams[i].copy(r, done)
	}

	var timeout, kill <-chan time.Time
	if o.timeout > 0 {
		t := time.NewTimer(o.timeout)
		defer t.Stop()
		timeout = t.C
	}
	var exit proc.Exit
wait:
	for {
		select {
		case e := <-exits:
			if e.PID == pid {
				exit = e
				break wait
			}
		case <-timeout:
			end.TimedOut = true
			fmt.Fprintf(f.Err, "herd: job %s: timed out after %s: stopping it\n", o.name, o.timeout)
			h.SignalGroup(unix.SIGTERM)
			k := time.NewTimer(killGrace)
			defer k.Stop()
			kill = k.C
		case <-kill:
			h.SignalGroup(unix.SIGKILL)
		case s := <-sigs:
			h.SignalGroup(s.(syscall.Signal))
		}
	}
	end.Duration = exit.At.Sub(started)
	// What the command's leftovers (a daemonized child) keep open is not
	// waited for long.
	grace := time.NewTimer(2 * time.Second)
	defer grace.Stop()
	for _, d := range dones {
		select {
		case <-d:
		case <-grace.C:
		}
	}
	code := 0
	switch ws := exit.Status; {
	case ws.Exited():
		c := ws.ExitStatus()
		end.ExitCode, code = &c, c
	case ws.Signaled():
		end.Signal, code = unix.SignalName(ws.Signal()), 128+int(ws.Signal())
	}
	if end.TimedOut {
		code = ExitTimedOut
	}
	mu.Lock()
	end.Output = tail.Lines()
	mu.Unlock()
	rep.send(jobs.ActionEnd, end, nil)
	if end.Failed() {
		if o.onError {
			outs := []io.Writer{cmdutil.RawWriter(f.Out), cmdutil.RawWriter(f.Err)}
			if f.JSON {
				outs[0] = outs[1]
			}
			for i, s := range spools {
				s.Seek(0, io.SeekStart)
				io.Copy(outs[i], s)
			}
		}
		if !f.JSON {
			fmt.Fprintf(f.Err, "herd: job %s failed: %s\n", o.name, how(end))
		}
		if code == 0 {
			code = cmdutil.ExitFailure
		}
	}
	if f.JSON {
		f.PrintDoc(runDoc(st.Run, end))
	}
	return code
}

// runDoc is what herd run --json prints: the run as herd saw it (its
// number is 0 when the daemon did not record its start).
func runDoc(id int, e jobs.EndReport) jobs.Run {
	r := jobs.Run{ID: id, Job: e.Job, Started: e.Started, Ended: e.Started.Add(e.Duration), Result: jobs.ResultOK, Duration: e.Duration,
		ExitCode: e.ExitCode, Signal: e.Signal, TimedOut: e.TimedOut, Error: e.Error, Command: e.Command, Output: e.Output}
	if e.Failed() {
		r.Result = jobs.ResultFailed
	}
	if r.Output == nil {
		r.Output = []string{}
	}
	return r
}

// how says how a failed run ended.
func how(e jobs.EndReport) string {
	d := e.Duration.Round(time.Millisecond)
	switch {
	case e.TimedOut:
		return fmt.Sprintf("timed out after %s and was killed", d)
	case e.Signal != "":
		return fmt.Sprintf("terminated by signal %s after %s", e.Signal, d)
	case e.ExitCode != nil:
		return fmt.Sprintf("exited with code %d after %s", *e.ExitCode, d)
	}
	return "did not run: " + e.Error
}
