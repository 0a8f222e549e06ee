package shepherd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shepherd-go/shepherd/importer/sexp"
	"golang.org/x/sys/unix"
)

// kind is what a value is. The evaluator knows the few procedures that
// build strings and lists in configurations, and nothing else: a value
// it cannot compute is a failure that says why, which the importer
// reports as a warning at the expression.
type kind uint8

const (
	vString kind = iota
	vNumber
	vBool
	vSymbol
	vKeyword
	vList
	// vMainPID is the running value of a service (its process) as an
	// action receives it: $MAINPID in a command.
	vMainPID
	// vDefaultEnv is (default-environment-variables): the environment
	// shepherd itself has.
	vDefaultEnv
)

type value struct {
	kind  kind
	s     string // string, symbol or keyword name, number as written
	items []value
	tail  *value // (a . b)
	node  *sexp.Node
}

// failure is an expression the importer cannot evaluate, and why.
type failure struct {
	node   *sexp.Node
	reason string
}

func failf(n *sexp.Node, format string, args ...any) *failure {
	return &failure{node: n, reason: fmt.Sprintf(format, args...)}
}

// env is what symbols mean where an expression is evaluated.
type env struct {
	defs   map[string]*sexp.Node // top-level (define NAME EXPR)
	locals map[string]value      // lambda parameters
	depth  int                   // of definitions being expanded
	// budget bounds the work of all evaluations of a file: definitions
	// that use definitions can build exponentially large values from a
	// small file.
	budget *int
}

// maxWork is the budget of a file: steps plus bytes of strings built.
const maxWork = 1 << 22

// spend takes n from the budget; false once it is spent.
func (e *env) spend(n int) bool {
	if e.budget == nil {
		e.budget = new(int)
	}
	*e.budget += n
	return *e.budget <= maxWork
}

// isSignal says whether a symbol is a signal's (SIGHUP, SIGTERM, ...).
func isSignal(name string) bool {
	return strings.HasPrefix(name, "SIG") && unix.SignalNum(name) != 0
}

func (e *env) eval(n *sexp.Node) (value, *failure) {
	if !e.spend(1) {
		return value{}, failf(n, "evaluating the file's definitions takes more than %d steps: %s is not evaluated", maxWork, brief(n))
	}
	switch n.Kind {
	case sexp.String:
		return value{kind: vString, s: n.Text, node: n}, nil
	case sexp.Number:
		return value{kind: vNumber, s: n.Text, node: n}, nil
	case sexp.Bool:
		return value{kind: vBool, s: n.Text, node: n}, nil
	case sexp.Keyword:
		return value{kind: vKeyword, s: n.Text, node: n}, nil
	case sexp.Char, sexp.Vector:
		return value{}, failf(n, "%s is not supported here", n)
	case sexp.Symbol:
		return e.symbol(n)
	}
	if len(n.Items) == 0 || n.Tail != nil {
		return value{}, failf(n, "%s is not an expression", n)
	}
	head := n.Head()
	args := n.Items[1:]
	switch head {
	case "quote":
		return datum(n.Items[1], nil)
	case "quasiquote":
		return datum(n.Items[1], e)
	case "gexp", "ungexp", "ungexp-native":
		// A gexp is code staged for later: its value is the code's.
		v, f := e.eval(n.Items[1])
		if f != nil && head != "gexp" && f.node == n.Items[1] {
			return value{}, failf(n, "%s is a Guix package or file, known only when Guix builds the system", n)
		}
		return v, f
	case "list":
		l := value{kind: vList, node: n}
		for _, a := range args {
			v, f := e.eval(a)
			if f != nil {
				return value{}, f
			}
			l.items = append(l.items, v)
		}
		return l, nil
	case "cons", "cons*", "append":
		return e.listOp(head, n, args)
	case "string-append":
		var b strings.Builder
		for _, a := range args {
			v, f := e.eval(a)
			if f != nil {
				return value{}, f
			}
			if v.kind != vString {
				return value{}, failf(a, "string-append of %s, which is not a string", a)
			}
			if !e.spend(len(v.s)) {
				return value{}, failf(n, "evaluating the file's definitions takes more than %d steps: %s is not evaluated", maxWork, brief(n))
			}
			b.WriteString(v.s)
		}
		return value{kind: vString, s: b.String(), node: n}, nil
	case "number->string", "symbol->string", "string->symbol", "process-id", "G_", "N_", "l10n", "_":
		if len(args) != 1 {
			return value{}, failf(n, "%s takes one argument", head)
		}
		v, f := e.eval(args[0])
		if f != nil {
			return value{}, f
		}
		switch {
		case head == "number->string" && v.kind == vNumber:
			return value{kind: vString, s: v.s, node: n}, nil
		case head == "symbol->string" && v.kind == vSymbol:
			return value{kind: vString, s: v.s, node: n}, nil
		case head == "string->symbol" && v.kind == vString:
			return value{kind: vSymbol, s: v.s, node: n}, nil
		case head == "number->string" || head == "process-id":
			if v.kind == vMainPID {
				return v, nil
			}
		case v.kind == vString && head != "number->string" && head != "symbol->string":
			return v, nil
		}
		return value{}, failf(n, "%s of %s is not supported", head, args[0])
	case "default-environment-variables", "environ":
		if len(args) == 0 {
			return value{kind: vDefaultEnv, node: n}, nil
		}
	case "file-append", "local-file", "plain-file", "computed-file", "program-file", "mixed-text-file", "scheme-file":
		return value{}, failf(n, "%s is a Guix package or file, known only when Guix builds the system", n)
	case "getenv":
		return value{}, failf(n, "%s depends on the environment shepherd runs in", n)
	}
	return value{}, failf(n, "%s is Scheme code the importer does not evaluate", brief(n))
}

// symbol is a variable's value: a lambda parameter, a top-level
// definition, a signal, or the constants #t and #f spelled out.
func (e *env) symbol(n *sexp.Node) (value, *failure) {
	if v, ok := e.locals[n.Text]; ok {
		v.node = n
		return v, nil
	}
	if isSignal(n.Text) {
		return value{kind: vSymbol, s: n.Text, node: n}, nil
	}
	if d, ok := e.defs[n.Text]; ok {
		if e.depth > 32 {
			return value{}, failf(n, "%s is defined in terms of itself", n.Text)
		}
		e.depth++
		defer func() { e.depth-- }()
		v, f := e.eval(d)
		if f != nil {
			return value{}, f
		}
		return v, nil
	}
	return value{}, failf(n, "%s is not defined in this file (or is not a constant)", n.Text)
}

func (e *env) listOp(head string, n *sexp.Node, args []*sexp.Node) (value, *failure) {
	vals := make([]value, 0, len(args))
	for _, a := range args {
		v, f := e.eval(a)
		if f != nil {
			return value{}, f
		}
		vals = append(vals, v)
	}
	out := value{kind: vList, node: n}
	for _, v := range vals {
		if !e.spend(len(v.items)) {
			return value{}, failf(n, "evaluating the file's definitions takes more than %d steps: %s is not evaluated", maxWork, brief(n))
		}
	}
	switch head {
	case "cons", "cons*":
		if len(vals) == 0 || head == "cons" && len(vals) != 2 {
			return value{}, failf(n, "%s with %d arguments", head, len(vals))
		}
		last := vals[len(vals)-1]
		out.items = append(out.items, vals[:len(vals)-1]...)
		switch last.kind {
		case vList:
			out.items = append(out.items, last.items...)
		case vDefaultEnv:
			out.items = append(out.items, last)
		default:
			return value{}, failf(n, "%s onto %s, which is not a list", head, last.node)
		}
	case "append":
		for _, v := range vals {
			switch v.kind {
			case vList:
				out.items = append(out.items, v.items...)
			case vDefaultEnv:
				out.items = append(out.items, v)
			default:
				return value{}, failf(v.node, "append of %s, which is not a list", v.node)
			}
		}
	}
	return out, nil
}

// datum is a quoted datum's value; with e, a quasiquoted one's, whose
// unquoted parts e evaluates.
func datum(n *sexp.Node, e *env) (value, *failure) {
	switch n.Kind {
	case sexp.Symbol:
		return value{kind: vSymbol, s: n.Text, node: n}, nil
	case sexp.List:
		if e != nil && n.Head() == "unquote" && len(n.Items) == 2 {
			return e.eval(n.Items[1])
		}
		l := value{kind: vList, node: n}
		for _, it := range n.Items {
			if e != nil && it.Head() == "unquote-splicing" && len(it.Items) == 2 {
				v, f := e.eval(it.Items[1])
				if f != nil {
					return value{}, f
				}
				if v.kind != vList {
					return value{}, failf(it, ",@ of %s, which is not a list", it.Items[1])
				}
				l.items = append(l.items, v.items...)
				continue
			}
			v, f := datum(it, e)
			if f != nil {
				return value{}, f
			}
			l.items = append(l.items, v)
		}
		if n.Tail != nil {
			t, f := datum(n.Tail, e)
			if f != nil {
				return value{}, f
			}
			l.tail = &t
		}
		return l, nil
	case sexp.Vector, sexp.Char:
		return value{}, failf(n, "%s is not supported here", n)
	}
	return (&env{}).eval(n)
}

// str is v as a string: strings, symbols and numbers; $MAINPID for the
// running value.
func (v value) str() (string, bool) {
	switch v.kind {
	case vString, vSymbol, vNumber:
		return v.s, true
	case vMainPID:
		return "$MAINPID", true
	}
	return "", false
}

// strings is v as a list of strings.
func (v value) strings() ([]string, bool) {
	if v.kind != vList || v.tail != nil {
		return nil, false
	}
	out := make([]string, 0, len(v.items))
	for _, it := range v.items {
		s, ok := it.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// number is v as a float: 5, 0.5, #o755, #x1F.
func (v value) number() (float64, bool) {
	if v.kind != vNumber {
		return 0, false
	}
	s := v.s
	base := 10
	if len(s) > 2 && s[0] == '#' {
		switch s[1] {
		case 'o', 'O':
			base = 8
		case 'x', 'X':
			base = 16
		case 'b', 'B':
			base = 2
		case 'd', 'D', 'e', 'E', 'i', 'I':
		default:
			return 0, false
		}
		s = s[2:]
	}
	if base != 10 {
		n, err := strconv.ParseInt(s, base, 64)
		return float64(n), err == nil
	}
	if num, den, ok := strings.Cut(s, "/"); ok {
		a, e1 := strconv.ParseFloat(num, 64)
		b, e2 := strconv.ParseFloat(den, 64)
		return a / b, e1 == nil && e2 == nil && b != 0
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

func (v value) truth() (bool, bool) {
	if v.kind != vBool {
		return false, false
	}
	return v.s == "#t", true
}
