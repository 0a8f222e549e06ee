package fleetshell

import (
	"fmt"
	"strings"

	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/services/yamlnode"
)

// Kind is what a selector of a line picks.
type Kind int

// The selectors of a line (docs/fleet.md, "The fleet shell").
const (
	Failed  Kind = iota + 1 // @failed: the last run's failures
	Changed                 // @changed: the last run's hosts whose answer changed
	Differs                 // @differs: the last run's hosts outside its largest group
	Tag                     // @tag:TAG: as -t
	Group                   // @group:GROUP: as -g
	Hosts                   // @host:HOSTS: as -H
	Exclude                 // @exclude:HOSTS: as -x
)

// Sel is one selector of a line: @failed, or @tag:role=web.
type Sel struct {
	Kind Kind
	// Value is what follows the colon of @tag:, @group:, @host: and
	// @exclude:.
	Value string
}

func (s Sel) String() string {
	for _, k := range keywords {
		if k.kind == s.Kind {
			return k.word + s.Value
		}
	}
	return "@?"
}

// keywords are the selectors' words; those ending in ':' take a value.
var keywords = []struct {
	word string
	kind Kind
}{
	{"@failed", Failed}, {"@changed", Changed}, {"@differs", Differs},
	{"@tag:", Tag}, {"@group:", Group}, {"@host:", Hosts}, {"@exclude:", Exclude},
}

// Builtins are the shell's own commands (and exit and quit, alone).
var Builtins = []string{":hosts", ":use", ":last", ":help", ":quit"}

// Line is one line of input, parsed.
type Line struct {
	// Builtin is a shell command (":hosts", ":use", ":help", ":last", ":quit"),
	// "" for a command to run; an empty line has neither.
	Builtin string
	// Sels are the selectors the line starts with (and those of :hosts).
	Sels []Sel
	// Argv is the command to run on the hosts.
	Argv []string
}

// Empty says whether the line has nothing to do.
func (l Line) Empty() bool { return l.Builtin == "" && len(l.Argv) == 0 && len(l.Sels) == 0 }

// Parse reads a line: [SELECTOR...] [--] CMD [ARG...], where CMD's words
// are split on blanks, honouring single and double quotes (no other
// shell syntax: write sh -c '...' for pipes); or a builtin, ":hosts
// [SELECTOR...]", ":use [SELECTOR...]", ":last", ":help", ":quit" (also
// exit and quit).
func Parse(text string) (Line, error) {
	text = strings.TrimSpace(text)
	switch text {
	case "exit", "quit", ":exit", ":q":
		return Line{Builtin: ":quit"}, nil
	}
	if strings.HasPrefix(text, "#") {
		return Line{}, nil // a comment, for scripts
	}
	words, err := yamlnode.SplitWords(text)
	if err != nil {
		return Line{}, fmt.Errorf("%s: %v", text, err)
	}
	var l Line
	if len(words) > 0 && strings.HasPrefix(words[0], ":") {
		name := words[0]
		known := false
		for _, b := range Builtins {
			known = known || b == name
		}
		if !known {
			return Line{}, fmt.Errorf("%s: no such shell command (%s, or :help)", name, strings.Join(Builtins, ", "))
		}
		l.Builtin = name
		words = words[1:]
		if name != ":hosts" && name != ":use" && len(words) > 0 {
			return Line{}, fmt.Errorf("%s takes no argument", name)
		}
	}
	for len(words) > 0 && strings.HasPrefix(words[0], "@") {
		s, err := parseSel(words[0])
		if err != nil {
			return Line{}, err
		}
		l.Sels = append(l.Sels, s)
		words = words[1:]
	}
	if len(words) > 0 && words[0] == "--" {
		words = words[1:]
	}
	if l.Builtin != "" {
		if len(words) > 0 {
			return Line{}, fmt.Errorf("%s %s: expected selectors only (@tag:web, @failed...)", l.Builtin, words[0])
		}
		return l, nil
	}
	if len(words) == 0 && len(l.Sels) > 0 {
		return Line{}, fmt.Errorf("%s: give the command to run after the selectors (%s uname -r)", l.Sels[len(l.Sels)-1], l.Sels[0])
	}
	l.Argv = words
	return l, nil
}

func parseSel(w string) (Sel, error) {
	for _, k := range keywords {
		if !strings.HasSuffix(k.word, ":") {
			if w == k.word {
				return Sel{Kind: k.kind}, nil
			}
			continue
		}
		if v, ok := strings.CutPrefix(w, k.word); ok {
			if v == "" {
				return Sel{}, fmt.Errorf("%s: give what to select: %s%s", w, k.word, example(k.kind))
			}
			return Sel{Kind: k.kind, Value: v}, nil
		}
	}
	return Sel{}, fmt.Errorf("%s: no such selector (@failed, @changed, @differs, @tag:TAG, @group:GROUP, @host:HOSTS, @exclude:HOSTS; -- before a command that starts with @)", w)
}

func example(k Kind) string {
	switch k {
	case Tag:
		return "role=web"
	case Group:
		return "eu"
	}
	return "web[01-03]"
}

// Last is what the shell's last run leaves for the next line's @failed,
// @changed and @differs.
type Last struct {
	// Command is the line's command, for messages.
	Command string
	// Hosts are the hosts it ran on.
	Hosts int
	// Failed: exit not 0, or no answer (unreachable, refused, timed out).
	Failed map[string]bool
	// Changed: the answer (output, exit or error) differs from the
	// host's in the command's earlier recorded run; every host when it
	// has none (Fresh).
	Changed map[string]bool
	Fresh   bool
	// Differs: outside the largest group of identical answers.
	Differs map[string]bool
}

// Outcome is what a run of command left: results, compared with earlier,
// the command's last recorded run before it (nil: none).
func Outcome(command string, results, earlier []fleet.Result) *Last {
	l := &Last{Command: command, Hosts: len(results), Failed: map[string]bool{}, Differs: map[string]bool{}, Fresh: earlier == nil}
	for _, r := range results {
		if r.Status() != "ok" {
			l.Failed[r.Host] = true
		}
	}
	l.Changed = fleet.ChangedHosts(earlier, results)
	if groups := fleet.GroupResults(results); len(groups) > 1 {
		// GroupResults puts the largest first, ties by folded name.
		for _, g := range groups[1:] {
			for _, h := range g.Hosts {
				l.Differs[h] = true
			}
		}
	}
	return l
}

// Resolve picks the hosts of base (the shell's hosts) that every
// selector of sels picks: @failed, @changed and @differs from last (nil:
// no line has run yet), the others as herd's -t, -g, -H and -x flags
// pick them in inv (several @host: add up, as -H does). An error names
// the selector and says what to do.
func Resolve(sels []Sel, base []*fleet.Host, inv *fleet.Inventory, last *Last) ([]*fleet.Host, error) {
	keep := map[string]bool{}
	for _, h := range base {
		keep[h.Name] = true
	}
	narrow := func(set map[string]bool) {
		for n := range keep {
			if !set[n] {
				delete(keep, n)
			}
		}
	}
	var flags fleet.Selector
	for _, s := range sels {
		var set map[string]bool
		switch s.Kind {
		case Failed, Changed, Differs:
			if last == nil {
				return nil, fmt.Errorf("%s: no line has run yet in this shell; it selects from the last line's hosts", s)
			}
			set = map[Kind]map[string]bool{Failed: last.Failed, Changed: last.Changed, Differs: last.Differs}[s.Kind]
			narrow(set)
			continue
		case Tag:
			flags.Tags = append(flags.Tags, s.Value)
			if err := (fleet.Selector{Tags: []string{s.Value}}).Check(inv); err != nil {
				return nil, selError(s, err)
			}
		case Group:
			flags.Groups = append(flags.Groups, s.Value)
			if err := (fleet.Selector{Groups: []string{s.Value}}).Check(inv); err != nil {
				return nil, selError(s, err)
			}
		case Hosts:
			flags.Hosts = append(flags.Hosts, s.Value)
			if err := (fleet.Selector{Hosts: []string{s.Value}}).Check(inv); err != nil {
				return nil, selError(s, err)
			}
		case Exclude:
			flags.Exclude = append(flags.Exclude, s.Value)
			if err := (fleet.Selector{Exclude: []string{s.Value}}).Check(inv); err != nil {
				return nil, selError(s, err)
			}
		}
	}
	if !flags.Empty() {
		set := map[string]bool{}
		for _, h := range flags.Select(inv) {
			set[h.Name] = true
		}
		narrow(set)
	}
	var out []*fleet.Host
	for _, h := range base {
		if keep[h.Name] {
			out = append(out, h)
		}
	}
	return out, nil
}

// selError is Check's error (which names the flag: -t web: ...) for
// selector s.
func selError(s Sel, err error) error {
	msg := err.Error()
	if i := strings.Index(msg, ": "); strings.HasPrefix(msg, "-") && i > 0 {
		msg = msg[i+2:]
	}
	return fmt.Errorf("%s: %s", s, msg)
}

// Describe says which hosts a line's selectors would have picked, when
// they pick none: why the line does not run.
func Describe(sels []Sel, last *Last) string {
	words := make([]string, len(sels))
	for i, s := range sels {
		words[i] = s.String()
	}
	msg := "No host to run on: " + strings.Join(words, " ") + " selects none of this shell's hosts"
	for _, s := range sels {
		switch s.Kind {
		case Failed:
			if len(last.Failed) == 0 {
				return msg + fmt.Sprintf(" (no host failed %s).", last.Command)
			}
		case Changed:
			if len(last.Changed) == 0 {
				return msg + fmt.Sprintf(" (every host answered %s as the time before).", last.Command)
			}
		case Differs:
			if len(last.Differs) == 0 {
				return msg + fmt.Sprintf(" (every host answered %s the same).", last.Command)
			}
		}
	}
	return msg + "."
}
