package systemd

import (
	"path"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/importer"
)

// execCmd is one Exec*= command line.
type execCmd struct {
	Key   string
	Pos   importer.Pos
	Words []string // specifiers expanded; variables not
	// The prefixes of systemd.service(5), "Command lines".
	IgnoreFailure bool // -
	NoEnv         bool // :  (no variable substitution)
	Privileged    bool // +
	Ambient       bool // ! or !!
	Argv0         bool // @  (the second word is argv[0])
}

// parseExec reads a command line: its prefixes, then words with
// systemd's quoting. ok is false (with a warning) for a line that cannot
// be read.
func (u *unit) parseExec(e entry) (execCmd, bool) {
	c := execCmd{Key: e.Key, Pos: e.Pos}
	v := e.Value
	for len(v) > 0 {
		switch {
		case strings.HasPrefix(v, "!!"):
			c.Ambient = true
			v = v[2:]
			continue
		case v[0] == '-':
			c.IgnoreFailure = true
		case v[0] == ':':
			c.NoEnv = true
		case v[0] == '+':
			c.Privileged = true
		case v[0] == '!':
			c.Ambient = true
		case v[0] == '@':
			c.Argv0 = true
		default:
			goto words
		}
		v = v[1:]
	}
words:
	words, err := splitWords(v)
	if err != nil {
		u.warn(e, "%v: not carried over", err)
		return c, false
	}
	if len(words) == 0 {
		u.warn(e, "no command after the prefixes: not carried over")
		return c, false
	}
	for i, w := range words {
		words[i] = u.sp.expand(w, e.Pos, u.svc.Name, e.Key, u.r)
	}
	if c.Argv0 {
		if len(words) < 2 {
			u.warn(e, "@ needs the program's argv[0] as the second word: not carried over")
			return c, false
		}
		u.warn(e, "@ runs %s with argv[0] %q: shepherd runs it with its path as argv[0]", words[0], words[1])
		words = append(words[:1:1], words[2:]...)
	}
	if c.Privileged {
		u.warn(e, "+ runs the command with full privileges in systemd; shepherd runs it as the service's user")
	}
	if c.Ambient {
		u.warn(e, "! and !! (ambient capabilities instead of the user change) are not supported: the command runs as the service's user")
	}
	c.Words = words
	return c, true
}

// varRef is a reference to a variable in a word: $NAME as the whole word
// (Split: the value's words become arguments) or ${NAME} anywhere (one
// argument).
type varRef struct {
	Name  string
	Split bool
}

func isVarName(s string) bool {
	if s == "" || !(s[0] == '_' || s[0] >= 'A' && s[0] <= 'Z' || s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// segments splits a word into literal text and variable references, as
// systemd substitutes them when it runs the command: $$ is a dollar
// sign.
func segments(w string) (lits []string, refs []*varRef) {
	if name, ok := strings.CutPrefix(w, "$"); ok && isVarName(name) {
		return []string{"", ""}, []*varRef{{Name: name, Split: true}}
	}
	var cur strings.Builder
	for i := 0; i < len(w); i++ {
		switch {
		case strings.HasPrefix(w[i:], "$$"):
			cur.WriteByte('$')
			i++
		case strings.HasPrefix(w[i:], "${"):
			end := strings.IndexByte(w[i:], '}')
			if end < 0 || !isVarName(w[i+2:i+end]) {
				cur.WriteByte('$')
				continue
			}
			lits = append(lits, cur.String())
			cur.Reset()
			refs = append(refs, &varRef{Name: w[i+2 : i+end]})
			i += end
		default:
			cur.WriteByte(w[i])
		}
	}
	return append(lits, cur.String()), refs
}

// vars lists the variables a command refers to.
func (c execCmd) vars() []string {
	if c.NoEnv {
		return nil
	}
	var out []string
	for _, w := range c.Words {
		_, refs := segments(w)
		for _, r := range refs {
			out = append(out, r.Name)
		}
	}
	return out
}

// expand substitutes the variables from env, as systemd would.
func (c execCmd) expand(env map[string]string) []string {
	if c.NoEnv {
		return c.Words
	}
	var out []string
	for _, w := range c.Words {
		lits, refs := segments(w)
		if len(refs) == 1 && refs[0].Split && lits[0] == "" && lits[1] == "" {
			out = append(out, strings.Fields(env[refs[0].Name])...)
			continue
		}
		var b strings.Builder
		for i, l := range lits {
			b.WriteString(l)
			if i < len(refs) {
				b.WriteString(env[refs[i].Name])
			}
		}
		out = append(out, b.String())
	}
	return out
}

// asIs is the command with $MAINPID as the action runner substitutes it
// and no other variable: ok is false if it needs others.
func (c execCmd) asIs() ([]string, bool) {
	if c.NoEnv {
		return c.Words, true
	}
	var out []string
	for _, w := range c.Words {
		lits, refs := segments(w)
		var b strings.Builder
		for i, l := range lits {
			if strings.Contains(l, "$MAINPID") {
				return nil, false // a literal $$MAINPID
			}
			b.WriteString(l)
			if i < len(refs) {
				if refs[i].Name != "MAINPID" {
					return nil, false
				}
				b.WriteString("$MAINPID")
			}
		}
		out = append(out, b.String())
	}
	return out, true
}

// shell writes the command as sh words: literal text quoted, ${NAME} as
// "${NAME}" (one word), $NAME as $NAME (split; the script turns globbing
// off). split reports whether it has any $NAME.
func (c execCmd) shell() (s string, split bool) {
	words := make([]string, 0, len(c.Words))
	for _, w := range c.Words {
		if c.NoEnv {
			words = append(words, shQuote(w))
			continue
		}
		lits, refs := segments(w)
		var b strings.Builder
		for i, l := range lits {
			if l != "" || len(refs) == 0 {
				b.WriteString(shQuote(l))
			}
			if i < len(refs) {
				switch {
				case refs[i].Name == "MAINPID":
					b.WriteString("$MAINPID")
				case refs[i].Split:
					b.WriteString("$" + refs[i].Name)
					split = true
				default:
					b.WriteString(`"${` + refs[i].Name + `}"`)
				}
			}
		}
		words = append(words, b.String())
	}
	return strings.Join(words, " "), split
}

// shQuote quotes s for sh unless it needs none.
func shQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_@%+=:,./-", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// script joins commands into one sh -c script that runs them in order
// and stops at the first failure (but for commands prefixed with -),
// the last one exec'd so that it keeps the script's PID: the main
// process of a service, the process an action waits for.
func script(cmds []execCmd) []string {
	var lines []string
	anySplit := false
	for i, c := range cmds {
		sh, split := c.shell()
		anySplit = anySplit || split
		last := i == len(cmds)-1
		switch {
		case last && c.IgnoreFailure:
			lines = append(lines, sh+"; exit 0")
		case last:
			lines = append(lines, "exec "+sh)
		case c.IgnoreFailure:
			lines = append(lines, sh)
		default:
			lines = append(lines, sh+" || exit")
		}
	}
	if anySplit {
		// $NAME splits into words as systemd splits it, without the
		// globbing sh would add.
		lines = append([]string{"set -f"}, lines...)
	}
	return []string{"/bin/sh", "-c", strings.Join(lines, "; ")}
}

// stopSignal recognizes the ExecStop= commands that only signal the main
// process: kill -SIG $MAINPID, and start-stop-daemon --stop with
// --signal or --retry SIG/TIMEOUT (as Debian's nginx unit stops). It
// returns the signal and the timeout the command gives it.
func stopSignal(c execCmd) (sig string, timeout time.Duration, ok bool) {
	w := c.Words
	if len(w) < 2 {
		return "", 0, false
	}
	switch path.Base(w[0]) {
	case "kill":
		sig = "SIGTERM"
		args := w[1:]
		for len(args) > 1 {
			a := args[0]
			switch {
			case a == "-s" || a == "--signal":
				sig = args[1]
				args = args[2:]
			case strings.HasPrefix(a, "-") && a != "--":
				sig = a[1:]
				args = args[1:]
			case a == "--":
				args = args[1:]
			default:
				return "", 0, false
			}
		}
		if len(args) != 1 || args[0] != "$MAINPID" && args[0] != "${MAINPID}" {
			return "", 0, false
		}
		name, valid := importer.SignalName(sig)
		return name, 0, valid
	case "start-stop-daemon":
		stop := false
		sig = "SIGTERM"
		for i := 1; i < len(w); i++ {
			a, val := w[i], ""
			if k, v, has := strings.Cut(a, "="); has && strings.HasPrefix(a, "--") {
				a, val = k, v
			} else if i+1 < len(w) {
				val = w[i+1]
			}
			switch a {
			case "--stop", "-K":
				stop = true
			case "--signal", "-s":
				sig = val
			case "--retry", "-R":
				sched := strings.Split(val, "/")
				switch len(sched) {
				case 1: // --retry 5: TERM/5/KILL/5
					if d, _, err := parseTimespan(sched[0]); err == nil {
						timeout = d
					}
				default:
					sig = sched[0]
					if d, _, err := parseTimespan(sched[1]); err == nil {
						timeout = d
					}
				}
			}
		}
		if !stop {
			return "", 0, false
		}
		name, valid := importer.SignalName(sig)
		return name, timeout, valid
	}
	return "", 0, false
}
