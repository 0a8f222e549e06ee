package fleetshell

import (
	"slices"
	"strings"

	"github.com/shepherd-go/shepherd/fleet"
)

// Words are what Tab completes after the selectors' colons: the shell's
// hosts' tags, groups and names.
type Words struct {
	Tags, Groups, Hosts []string
}

// WordsOf gathers the Words of hosts, each list sorted, without repeats.
func WordsOf(hosts []*fleet.Host) Words {
	var w Words
	for _, h := range hosts {
		w.Hosts = append(w.Hosts, h.Name)
		w.Groups = append(w.Groups, h.Groups...)
		for k, v := range h.Tags {
			w.Tags = append(w.Tags, k+"="+v)
		}
		w.Tags = append(w.Tags, h.Labels...)
	}
	for _, l := range []*[]string{&w.Tags, &w.Groups, &w.Hosts} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return w
}

// Complete is what Tab offers for the word that ends at pos (a rune
// index) in line: candidates, each the whole word it would become (a
// trailing blank when nothing more can follow), and the length in runes
// of the word typed so far. Selectors complete where selectors may
// stand: at the start of the line, after other selectors, or after
// :hosts or :use; a builtin at the start. Nothing else completes (commands run
// on the hosts, whose files herd does not know).
func Complete(line []rune, pos int, w Words) (cands []string, wordLen int) {
	if pos > len(line) {
		pos = len(line)
	}
	head := string(line[:pos])
	start := strings.LastIndexAny(head, " \t") + 1
	word, before := head[start:], strings.Fields(head[:start])
	if len(before) == 0 && strings.HasPrefix(word, ":") {
		for _, b := range Builtins {
			cands = append(cands, b+" ")
		}
		return filter(cands, word), len([]rune(word))
	}
	for i, b := range before {
		if !strings.HasPrefix(b, "@") && !(i == 0 && (b == ":hosts" || b == ":use")) {
			return nil, 0
		}
	}
	if word != "" && !strings.HasPrefix(word, "@") {
		return nil, 0
	}
	for _, k := range keywords {
		if !strings.HasSuffix(k.word, ":") {
			cands = append(cands, k.word+" ")
			continue
		}
		if !strings.HasPrefix(word, k.word) {
			cands = append(cands, k.word)
			continue
		}
		values := map[Kind][]string{Tag: w.Tags, Group: w.Groups, Hosts: w.Hosts, Exclude: w.Hosts}[k.kind]
		if k.kind == Tag || k.kind == Group {
			// !TAG and !GROUP negate.
			if strings.HasPrefix(word, k.word+"!") {
				values = prefixed("!", values)
			}
		}
		cands = append(cands, prefixed(k.word, values, " ")...)
	}
	return filter(cands, word), len([]rune(word))
}

func prefixed(p string, words []string, suffix ...string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = p + w + strings.Join(suffix, "")
	}
	return out
}

func filter(cands []string, prefix string) []string {
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// completer adapts Complete to readline's AutoCompleter, which wants
// the runes each candidate adds after the word typed.
type completer struct{ words Words }

func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	cands, n := Complete(line, pos, c.words)
	out := make([][]rune, len(cands))
	for i, s := range cands {
		out[i] = []rune(s)[n:]
	}
	return out, n
}
