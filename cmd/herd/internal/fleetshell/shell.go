package fleetshell

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/chzyer/readline"
	"github.com/shepherd-go/shepherd/fleet"
	"golang.org/x/sys/unix"
)

// MaxLine is the longest line the shell reads; a longer one is refused.
const MaxLine = 64 << 10

// Ran is what one line's run did.
type Ran struct {
	Results []fleet.Result
	// Earlier are the results of the command's last recorded run
	// before this one (the fleet-run history's); nil when it has none.
	Earlier []fleet.Result
}

// Exec runs argv on hosts as herd fleet exec does: prints the answers,
// records the run under selector; ctx ends it early. An error it returns
// has been printed.
type Exec func(ctx context.Context, hosts []*fleet.Host, argv []string, selector string) (Ran, error)

// Config is a shell's world.
type Config struct {
	// In is read line by line; Out and Err take the shell's own texts.
	// Term and TermErr are Out's and Err's streams with nothing in
	// between, for the line editor. The shell is interactive (a prompt,
	// line editing, history) when In is a terminal and Term or TermErr
	// is one (the editor writes to the first that is).
	In            io.Reader
	Out, Err      io.Writer
	Term, TermErr io.Writer
	// Inventory and Hosts: the hosts the shell runs on (its selector's),
	// which every line's selectors narrow; Selector is that selector as
	// flags, for the runs' records.
	Inventory *fleet.Inventory
	Hosts     []*fleet.Host
	Selector  string
	// History is the history file ("": none) and HistoryLimit its bound
	// in lines (0: DefaultHistoryLimit).
	History      string
	HistoryLimit int
	Exec         Exec
}

// Run runs the shell until its input ends, Ctrl-D, :quit, SIGTERM or
// SIGHUP, and returns the exit code: interactive, 0 (1 after SIGTERM or
// SIGHUP); reading a script, the status of its last line that ran or
// failed (0 when every host answered 0, 1 otherwise), 1 when interrupted.
func Run(cfg Config) int {
	s := &shell{cfg: cfg, words: WordsOf(cfg.Hosts), hosts: cfg.Hosts, quitting: make(chan struct{})}
	inFile, _ := cfg.In.(*os.File)
	term := cfg.Term
	if !isTTY(term) {
		term = cfg.TermErr
	}
	s.interactive = inFile != nil && isTTY(inFile) && isTTY(term)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go s.signals(sigs, done)

	if s.interactive {
		return s.interactiveLoop(inFile, term)
	}
	return s.scriptLoop()
}

type shell struct {
	cfg         Config
	interactive bool
	words       Words
	last        *Last
	status      int
	// hosts are those lines run on: the shell's, or those :use chose
	// among them (use: its selectors, for the runs' records).
	hosts []*fleet.Host
	use   []Sel

	mu         sync.Mutex
	cancelLine context.CancelFunc // set while a line runs
	quit       bool
	quitting   chan struct{} // closed when quit is set
	rl         *readline.Instance
}

// signals cancels the running line on SIGINT (Ctrl-C), and also ends
// the shell on SIGTERM and SIGHUP, or on SIGINT when it reads a script.
func (s *shell) signals(sigs <-chan os.Signal, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case sig := <-sigs:
			s.mu.Lock()
			if s.cancelLine != nil {
				s.cancelLine()
			}
			if (sig != os.Interrupt || !s.interactive) && !s.quit {
				s.quit = true
				close(s.quitting)
				if s.rl != nil && s.cancelLine == nil {
					s.rl.Close() // at the prompt: Readline returns
				}
			}
			s.mu.Unlock()
		}
	}
}

func (s *shell) quitRequested() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quit
}

func (s *shell) interactiveLoop(in *os.File, term io.Writer) int {
	var hist *History
	if s.cfg.History != "" {
		var err error
		if hist, err = OpenHistory(s.cfg.History, s.cfg.HistoryLimit); err != nil {
			fmt.Fprintf(s.cfg.Err, "herd: warning: %v; this shell's lines are not kept\n", err)
			hist = nil
		}
	}
	limit := s.cfg.HistoryLimit
	if limit < 1 {
		limit = DefaultHistoryLimit
	}
	raw := &rawMode{fd: int(in.Fd())}
	rl, err := readline.NewEx(&readline.Config{
		Prompt:                 prompt(s.hosts),
		AutoComplete:           completer{s.words},
		HistoryLimit:           limit,
		DisableAutoSaveHistory: true,
		HistorySearchFold:      true,
		Stdin:                  readline.NewCancelableStdin(in),
		Stdout:                 term,
		Stderr:                 s.cfg.Err,
		FuncIsTerminal:         func() bool { return true },
		FuncMakeRaw:            raw.enter,
		FuncExitRaw:            raw.exit,
		FuncGetWidth:           func() int { return width(in) },
	})
	if err != nil {
		fmt.Fprintf(s.cfg.Err, "herd: error: the line editor: %v\n", err)
		return 1
	}
	defer rl.Close()
	s.mu.Lock()
	s.rl = rl
	s.mu.Unlock()
	if hist != nil {
		for _, l := range hist.Lines() {
			rl.SaveHistory(l)
		}
	}
	fmt.Fprintf(term, "herd fleet shell: %d hosts (%s). :help for help, Ctrl-D to leave.\n", len(s.cfg.Hosts), foldHosts(s.cfg.Hosts))
	for {
		text, err := rl.Readline()
		if s.quitRequested() {
			return 1
		}
		if errors.Is(err, readline.ErrInterrupt) {
			continue // Ctrl-C at the prompt: a new line
		}
		if err != nil { // io.EOF: Ctrl-D
			return 0
		}
		if strings.TrimSpace(text) != "" {
			rl.SaveHistory(text)
			if hist != nil {
				if err := hist.Add(text); err != nil {
					fmt.Fprintf(s.cfg.Err, "herd: warning: %v; this shell's lines are no longer kept\n", err)
					hist = nil
				}
			}
		}
		if s.do(text) {
			return 0
		}
		if s.quitRequested() {
			return 1
		}
	}
}

// input is one line of a script, or why it cannot be read.
type input struct {
	text string
	err  error
}

func (s *shell) scriptLoop() int {
	lines := make(chan input)
	go readLines(s.cfg.In, lines, s.quitting)
	for n := 1; ; n++ {
		var in input
		var ok bool
		select {
		case in, ok = <-lines:
		case <-s.quitting:
			return 1
		}
		if !ok {
			return s.status
		}
		if in.err != nil {
			fmt.Fprintf(s.cfg.Err, "herd: error: line %d: %v\n", n, in.err)
			s.status = 1
			continue
		}
		if s.do(in.text) {
			return s.status
		}
		if s.quitRequested() {
			return 1
		}
	}
}

// readLines sends in's lines to out, and closes it at the end of in (or
// when quitting). A line longer than MaxLine is sent as an error.
func readLines(in io.Reader, out chan<- input, quitting <-chan struct{}) {
	defer close(out)
	r := bufio.NewReaderSize(in, MaxLine)
	send := func(i input) bool {
		select {
		case out <- i:
			return true
		case <-quitting:
			return false
		}
	}
	for {
		b, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if !send(input{err: fmt.Errorf("longer than %d bytes; not run", MaxLine)}) {
				return
			}
			continue
		}
		if len(b) > 0 && !send(input{text: strings.TrimRight(string(b), "\r\n")}) {
			return
		}
		if err != nil {
			return
		}
	}
}

// do carries out one line; true means the shell ends.
func (s *shell) do(text string) bool {
	l, err := Parse(text)
	if err != nil {
		fmt.Fprintf(s.cfg.Err, "herd: error: %v\n", err)
		s.status = 1
		return false
	}
	switch l.Builtin {
	case ":quit":
		return true
	case ":help":
		fmt.Fprint(s.cfg.Out, helpText)
		s.status = 0
		return false
	case ":last":
		s.printLast()
		s.status = 0
		return false
	}
	if l.Empty() {
		return false
	}
	base := s.hosts
	if l.Builtin == ":use" {
		base = s.cfg.Hosts
	}
	hosts, err := Resolve(l.Sels, base, s.cfg.Inventory, s.last)
	if err != nil {
		fmt.Fprintf(s.cfg.Err, "herd: error: %v\n", err)
		s.status = 1
		return false
	}
	if l.Builtin == ":use" {
		if len(hosts) == 0 {
			fmt.Fprintf(s.cfg.Err, "herd: error: :use: %s; the lines still run on %s (%d)\n",
				strings.TrimSuffix(strings.TrimPrefix(Describe(l.Sels, s.last), "No host to run on: "), "."), foldHosts(s.hosts), len(s.hosts))
			s.status = 1
			return false
		}
		s.hosts, s.use = hosts, l.Sels
		if s.rl != nil {
			s.rl.SetPrompt(prompt(hosts))
		}
		fmt.Fprintf(s.cfg.Out, "The lines now run on %s (%d).\n", foldHosts(hosts), len(hosts))
		s.status = 0
		return false
	}
	if l.Builtin == ":hosts" {
		if len(hosts) == 0 {
			fmt.Fprintln(s.cfg.Out, "No host.")
		} else {
			fmt.Fprintf(s.cfg.Out, "%s (%d)\n", foldHosts(hosts), len(hosts))
		}
		s.status = 0
		return false
	}
	if len(hosts) == 0 {
		fmt.Fprintln(s.cfg.Out, Describe(l.Sels, s.last))
		s.status = 0
		return false
	}
	s.status = s.run(l, hosts)
	return false
}

// run runs a line's command on hosts; its status is 0 when every host
// answered 0.
func (s *shell) run(l Line, hosts []*fleet.Host) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.mu.Lock()
	if s.quit {
		s.mu.Unlock()
		return 1
	}
	s.cancelLine = cancel
	s.mu.Unlock()
	sel := []string{"shell"}
	if s.cfg.Selector != "" {
		sel = append(sel, s.cfg.Selector)
	}
	if len(s.use) > 0 {
		sel = append(sel, ":use")
		for _, x := range s.use {
			sel = append(sel, x.String())
		}
		sel = append(sel, ";")
	}
	for _, x := range l.Sels {
		sel = append(sel, x.String())
	}
	ran, err := s.cfg.Exec(ctx, hosts, l.Argv, strings.Join(sel, " "))
	s.mu.Lock()
	s.cancelLine = nil
	s.mu.Unlock()
	interrupted := ctx.Err() != nil
	if err != nil {
		return 1
	}
	if interrupted {
		fmt.Fprintln(s.cfg.Err, "Interrupted: the hosts that had not answered count as failed (@failed).")
	}
	s.last = Outcome(fleet.ShellQuote(l.Argv), ran.Results, ran.Earlier)
	if interrupted || len(s.last.Failed) > 0 {
		return 1
	}
	return 0
}

func (s *shell) printLast() {
	l := s.last
	if l == nil {
		fmt.Fprintln(s.cfg.Out, "No line has run yet: @failed, @changed and @differs select from the last line's hosts.")
		return
	}
	fmt.Fprintf(s.cfg.Out, "Last line: %s, on %d hosts.\n", l.Command, l.Hosts)
	changed := "@changed"
	if l.Fresh {
		changed += " (its first recorded run: every host)"
	}
	for _, x := range []struct {
		name string
		set  map[string]bool
	}{{"@failed", l.Failed}, {changed, l.Changed}, {"@differs", l.Differs}} {
		names := make([]string, 0, len(x.set))
		for n := range x.set {
			names = append(names, n)
		}
		if len(names) == 0 {
			fmt.Fprintf(s.cfg.Out, "  %s: none\n", x.name)
		} else {
			fmt.Fprintf(s.cfg.Out, "  %s: %s (%d)\n", x.name, fleet.Fold(names), len(names))
		}
	}
}

// prompt is the prompt when lines run on hosts.
func prompt(hosts []*fleet.Host) string { return fmt.Sprintf("fleet(%d)> ", len(hosts)) }

func foldHosts(hosts []*fleet.Host) string {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	return fleet.Fold(names)
}

const helpText = `Each line runs a command on the shell's hosts, as herd fleet exec does:
  [SELECTOR...] [--] CMD [ARG...]   words split on blanks, quotes honoured
                                    (no other shell syntax: sh -c '...')
Selectors narrow the hosts for the line (all of them must hold):
  @failed          hosts whose last line failed (exit not 0, or no answer)
  @changed         hosts whose answer to the last line differs from their
                   answer to that command's run before it (history)
  @differs         hosts outside the last line's largest group of answers
  @tag:TAG         as -t: role=web, debian12, !env=prod, a,b (both)
  @group:GROUP     as -g: web, !web
  @host:HOSTS      as -H: web[01-03],db1 (several add up)
  @exclude:HOSTS   as -x
Shell commands:
  :hosts [SELECTOR...]   the hosts a line would run on
  :use [SELECTOR...]     from now on, run the lines on the shell's hosts
                         these select (none: on all of them again)
  :last                  what @failed, @changed and @differs select now
  :help                  this text
  :quit, exit, Ctrl-D    leave
Tab completes selectors, tags, groups and host names; Ctrl-R searches the
history; Ctrl-C ends the running line (and only it).
`

// isTTY says whether w is a terminal.
func isTTY(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// rawMode switches a terminal to raw mode for the line editor and back
// (readline's own does it to fd 0 alone).
type rawMode struct {
	mu    sync.Mutex
	fd    int
	saved *readline.State
}

func (r *rawMode) enter() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, err := readline.MakeRaw(r.fd)
	if err == nil {
		r.saved = st
	}
	return err
}

func (r *rawMode) exit() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.saved == nil {
		return nil
	}
	err := readline.Restore(r.fd, r.saved)
	r.saved = nil
	return err
}

// width is the terminal's width in columns (80 when it does not say).
func width(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 80
	}
	return int(ws.Col)
}
