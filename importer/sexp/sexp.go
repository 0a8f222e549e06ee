package sexp

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is what a Node is.
type Kind uint8

// The kinds of nodes. A quote form ('x, #~x, ...) is a List whose first
// item is the Symbol naming it (quote, gexp, ...), as Scheme reads it.
const (
	List Kind = iota
	Vector
	Symbol
	String
	Number
	Bool
	Keyword
	Char
)

var kindNames = [...]string{"list", "vector", "symbol", "string", "number", "boolean", "keyword", "character"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(int(k))
}

// Node is one datum and where it starts (1-based line and column, the
// column in characters).
type Node struct {
	Kind Kind
	// Text is a Symbol's name, a String's value, a Number as written,
	// "#t" or "#f" for a Bool, a Keyword's name without "#:", a Char's
	// character.
	Text string
	// Items are the elements of a List or Vector.
	Items []*Node
	// Tail is what follows " . " in a dotted list such as (3 . 5).
	Tail      *Node
	Line, Col int
}

// Is reports whether n is the symbol name.
func (n *Node) Is(name string) bool { return n != nil && n.Kind == Symbol && n.Text == name }

// Head is the symbol a list starts with, or "".
func (n *Node) Head() string {
	if n == nil || n.Kind != List || len(n.Items) == 0 || n.Items[0].Kind != Symbol {
		return ""
	}
	return n.Items[0].Text
}

// String prints n back in Scheme syntax, shortened past a few hundred
// characters: for messages.
func (n *Node) String() string {
	var b strings.Builder
	n.write(&b)
	s := b.String()
	if len(s) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// quotePrefix is the syntax of a quote form's name: "'" for quote.
// (Functions rather than package maps: herd links this package, and
// every command would build the maps at start-up.)
func quotePrefix(name string) (string, bool) {
	switch name {
	case "quote":
		return "'", true
	case "quasiquote":
		return "`", true
	case "unquote":
		return ",", true
	case "unquote-splicing":
		return ",@", true
	case "gexp":
		return "#~", true
	case "ungexp":
		return "#$", true
	case "ungexp-splicing":
		return "#$@", true
	case "ungexp-native":
		return "#+", true
	case "ungexp-native-splicing":
		return "#+@", true
	case "syntax":
		return "#'", true
	case "quasisyntax":
		return "#`", true
	case "unsyntax":
		return "#,", true
	case "unsyntax-splicing":
		return "#,@", true
	}
	return "", false
}

func (n *Node) write(b *strings.Builder) {
	if b.Len() > 400 {
		return
	}
	switch n.Kind {
	case List, Vector:
		if n.Kind == List && len(n.Items) == 2 && n.Tail == nil && n.Items[0].Kind == Symbol {
			if p, ok := quotePrefix(n.Items[0].Text); ok {
				b.WriteString(p)
				n.Items[1].write(b)
				return
			}
		}
		if n.Kind == Vector {
			b.WriteString("#")
		}
		b.WriteString("(")
		for i, it := range n.Items {
			if i > 0 {
				b.WriteString(" ")
			}
			it.write(b)
		}
		if n.Tail != nil {
			b.WriteString(" . ")
			n.Tail.write(b)
		}
		b.WriteString(")")
	case String:
		b.WriteString(strconv.Quote(n.Text))
	case Keyword:
		b.WriteString("#:" + n.Text)
	case Char:
		b.WriteString(`#\` + n.Text)
	default:
		b.WriteString(n.Text)
	}
}

// Limits bound what Parse accepts.
type Limits struct {
	MaxBytes int // input size
	MaxDepth int // nesting of lists, vectors and quote forms
	MaxNodes int // data in all
}

// DefaultLimits are far above any hand-written configuration: GNU
// Shepherd's own test configurations are a few kilobytes, Guix's
// generated shepherd.conf some hundreds.
var DefaultLimits = Limits{MaxBytes: 8 << 20, MaxDepth: 256, MaxNodes: 1 << 20}

// Error is a syntax error, or a limit exceeded, at a position.
type Error struct {
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// Parse reads every datum of src. The error, if any, is an *Error.
func Parse(src []byte, lim Limits) ([]*Node, error) {
	if lim.MaxBytes > 0 && len(src) > lim.MaxBytes {
		return nil, &Error{Line: 1, Col: 1, Msg: fmt.Sprintf("the file is %d bytes, more than the %d this reader accepts", len(src), lim.MaxBytes)}
	}
	r := &reader{src: src, line: 1, col: 1, lim: lim}
	var out []*Node
	for {
		if err := r.skipAtmosphere(); err != nil {
			return nil, err
		}
		if r.pos >= len(r.src) {
			return out, nil
		}
		n, err := r.datum()
		if err != nil {
			return nil, err
		}
		if n != nil {
			out = append(out, n)
		}
	}
}

type reader struct {
	src       []byte
	pos       int
	line, col int
	depth     int
	nodes     int
	lim       Limits
}

func (r *reader) errAt(line, col int, format string, args ...any) error {
	return &Error{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

func (r *reader) errf(format string, args ...any) error {
	return r.errAt(r.line, r.col, format, args...)
}

// peek returns the next character and its size, (utf8.RuneError, 0) at
// the end.
func (r *reader) peek() (rune, int) {
	if r.pos >= len(r.src) {
		return utf8.RuneError, 0
	}
	c := r.src[r.pos]
	if c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRune(r.src[r.pos:])
}

func (r *reader) peekAt(off int) byte {
	if r.pos+off >= len(r.src) {
		return 0
	}
	return r.src[r.pos+off]
}

func (r *reader) advance() rune {
	c, size := r.peek()
	if size == 0 {
		return c
	}
	r.pos += size
	if c == '\n' {
		r.line++
		r.col = 1
	} else {
		r.col++
	}
	return c
}

func isSpace(c rune) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDelimiter(c rune) bool {
	return isSpace(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '"' || c == ';'
}

// skipAtmosphere skips blanks and comments, datum comments included.
func (r *reader) skipAtmosphere() error {
	for r.pos < len(r.src) {
		c, _ := r.peek()
		switch {
		case isSpace(c):
			r.advance()
		case c == ';':
			for r.pos < len(r.src) && r.src[r.pos] != '\n' {
				r.advance()
			}
		case c == '#' && r.peekAt(1) == '|':
			if err := r.blockComment(); err != nil {
				return err
			}
		case c == '#' && r.peekAt(1) == ';':
			line, col := r.line, r.col
			r.advance()
			r.advance()
			// #; #; a b comments out two data: the nesting is bounded
			// as lists are.
			if r.depth++; r.depth > r.maxDepth() {
				return r.errAt(line, col, "nested more than %d deep", r.maxDepth())
			}
			err := r.skipAtmosphere()
			r.depth--
			if err != nil {
				return err
			}
			if r.pos >= len(r.src) {
				return r.errAt(line, col, "#; comments out the next datum, but the file ends")
			}
			if _, err := r.datum(); err != nil {
				return err
			}
		case c == '#' && r.peekAt(1) == '!':
			if err := r.hashBang(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// blockComment skips #| ... |#, which nest.
func (r *reader) blockComment() error {
	line, col := r.line, r.col
	r.advance()
	r.advance()
	level := 1
	for r.pos < len(r.src) {
		switch {
		case r.src[r.pos] == '|' && r.peekAt(1) == '#':
			r.advance()
			r.advance()
			if level--; level == 0 {
				return nil
			}
		case r.src[r.pos] == '#' && r.peekAt(1) == '|':
			r.advance()
			r.advance()
			if level++; level > r.maxDepth() {
				return r.errAt(line, col, "block comments nested more than %d deep", r.maxDepth())
			}
		default:
			r.advance()
		}
	}
	return r.errAt(line, col, "#| comment is not closed by |#")
}

// hashBang skips Guile's reader directives (#!fold-case) and the
// #! ... !# block a script starts with.
func (r *reader) hashBang() error {
	line, col := r.line, r.col
	for _, d := range []string{"#!fold-case", "#!no-fold-case", "#!r6rs", "#!curly-infix", "#!eof"} {
		if strings.HasPrefix(string(r.src[r.pos:min(len(r.src), r.pos+len(d)+1)]), d) {
			end := r.pos + len(d)
			if end == len(r.src) || isDelimiter(rune(r.src[end])) {
				for r.pos < end {
					r.advance()
				}
				return nil
			}
		}
	}
	r.advance()
	r.advance()
	for r.pos < len(r.src) {
		if r.src[r.pos] == '!' && r.peekAt(1) == '#' {
			r.advance()
			r.advance()
			return nil
		}
		r.advance()
	}
	return r.errAt(line, col, "#! block is not closed by !#")
}

func (r *reader) maxDepth() int {
	if r.lim.MaxDepth > 0 {
		return r.lim.MaxDepth
	}
	return DefaultLimits.MaxDepth
}

func (r *reader) node(k Kind, text string, line, col int) (*Node, error) {
	r.nodes++
	if r.lim.MaxNodes > 0 && r.nodes > r.lim.MaxNodes {
		return nil, r.errAt(line, col, "more than %d data in the file", r.lim.MaxNodes)
	}
	return &Node{Kind: k, Text: text, Line: line, Col: col}, nil
}

// datum reads one datum; the atmosphere before it is already skipped.
func (r *reader) datum() (*Node, error) {
	line, col := r.line, r.col
	c, _ := r.peek()
	switch c {
	case '(', '[':
		return r.list(List, line, col)
	case ')', ']':
		return nil, r.errf("unexpected %q: no list is open here", c)
	case '"':
		return r.str()
	case '\'':
		r.advance()
		return r.quoted("quote", line, col)
	case '`':
		r.advance()
		return r.quoted("quasiquote", line, col)
	case ',':
		r.advance()
		if r.peekAt(0) == '@' {
			r.advance()
			return r.quoted("unquote-splicing", line, col)
		}
		return r.quoted("unquote", line, col)
	case '#':
		return r.hash(line, col)
	case '|':
		return nil, r.errf("symbols in |bars| are not supported")
	}
	return r.atom(line, col)
}

func (r *reader) quoted(name string, line, col int) (*Node, error) {
	if err := r.skipAtmosphere(); err != nil {
		return nil, err
	}
	if r.pos >= len(r.src) {
		return nil, r.errAt(line, col, "%s of nothing: the file ends", name)
	}
	if r.depth++; r.depth > r.maxDepth() {
		return nil, r.errAt(line, col, "nested more than %d deep", r.maxDepth())
	}
	defer func() { r.depth-- }()
	q, err := r.node(Symbol, name, line, col)
	if err != nil {
		return nil, err
	}
	d, err := r.datum()
	if err != nil {
		return nil, err
	}
	l, err := r.node(List, "", line, col)
	if err != nil {
		return nil, err
	}
	l.Items = []*Node{q, d}
	return l, nil
}

func (r *reader) list(k Kind, line, col int) (*Node, error) {
	open := r.advance()
	closer := ')'
	if open == '[' {
		closer = ']'
	}
	if r.depth++; r.depth > r.maxDepth() {
		return nil, r.errAt(line, col, "nested more than %d deep", r.maxDepth())
	}
	defer func() { r.depth-- }()
	l, err := r.node(k, "", line, col)
	if err != nil {
		return nil, err
	}
	for {
		if err := r.skipAtmosphere(); err != nil {
			return nil, err
		}
		if r.pos >= len(r.src) {
			return nil, r.errAt(line, col, "%q is not closed: the file ends", open)
		}
		c, _ := r.peek()
		if c == ')' || c == ']' {
			if c != closer {
				return nil, r.errf("%q closes the %q opened at %d:%d", c, open, line, col)
			}
			r.advance()
			return l, nil
		}
		if c == '.' && k == List && r.pos+1 < len(r.src) && isDelimiter(rune(r.src[r.pos+1])) {
			dl, dc := r.line, r.col
			r.advance()
			if len(l.Items) == 0 {
				return nil, r.errAt(dl, dc, "a dotted list needs an item before the dot")
			}
			if err := r.skipAtmosphere(); err != nil {
				return nil, err
			}
			if r.pos >= len(r.src) {
				return nil, r.errAt(line, col, "%q is not closed: the file ends", open)
			}
			if c, _ := r.peek(); c == ')' || c == ']' {
				return nil, r.errAt(dl, dc, "a dotted list needs an item after the dot")
			}
			if l.Tail, err = r.datum(); err != nil {
				return nil, err
			}
			if err := r.skipAtmosphere(); err != nil {
				return nil, err
			}
			if c, _ := r.peek(); c != closer {
				if r.pos >= len(r.src) {
					return nil, r.errAt(line, col, "%q is not closed: the file ends", open)
				}
				return nil, r.errf("a dotted list has one item after the dot, then %q", closer)
			}
			r.advance()
			return l, nil
		}
		d, err := r.datum()
		if err != nil {
			return nil, err
		}
		l.Items = append(l.Items, d)
	}
}

// escape is the character a string escape \c stands for.
func escape(c byte) (byte, bool) {
	switch c {
	case '\\', '"':
		return c, true
	case 'n':
		return '\n', true
	case 't':
		return '\t', true
	case 'r':
		return '\r', true
	case 'a':
		return '\a', true
	case 'f':
		return '\f', true
	case 'v':
		return '\v', true
	case '0':
		return 0, true
	case 'b':
		return '\b', true
	case 'e':
		return 0x1b, true
	}
	return 0, false
}

func (r *reader) str() (*Node, error) {
	line, col := r.line, r.col
	r.advance()
	var b strings.Builder
	for {
		if r.pos >= len(r.src) {
			return nil, r.errAt(line, col, "string is not closed: the file ends")
		}
		c := r.advance()
		switch c {
		case '"':
			return r.node(String, b.String(), line, col)
		case '\\':
			if r.pos >= len(r.src) {
				return nil, r.errAt(line, col, "string is not closed: the file ends")
			}
			el, ec := r.line, r.col
			e := r.src[r.pos]
			switch {
			case isEscape(e):
				r.advance()
				c, _ := escape(e)
				b.WriteByte(c)
			case e == '\n':
				// A backslash-newline joins lines, skipping the next
				// line's leading blanks.
				r.advance()
				for r.pos < len(r.src) && (r.src[r.pos] == ' ' || r.src[r.pos] == '\t') {
					r.advance()
				}
			case e == 'x' || e == 'u' || e == 'U':
				r.advance()
				digits := 2
				switch e {
				case 'u':
					digits = 4
				case 'U':
					digits = 6
				}
				start := r.pos
				for r.pos < len(r.src) && r.pos-start < 8 && isHex(r.src[r.pos]) {
					r.advance()
				}
				hex := string(r.src[start:r.pos])
				if e == 'x' && r.pos < len(r.src) && r.src[r.pos] == ';' {
					r.advance() // R7RS: \x41;
				} else if len(hex) > digits {
					r.pos, r.col = start+digits, ec+1+digits // Guile's fixed-width forms
					hex = hex[:digits]
				}
				v, err := strconv.ParseUint(hex, 16, 32)
				if err != nil || hex == "" || !utf8.ValidRune(rune(v)) {
					return nil, r.errAt(el, ec-1, "bad escape \\%c%s in a string", e, hex)
				}
				b.WriteRune(rune(v))
			default:
				ch, _ := r.peek()
				return nil, r.errAt(el, ec-1, "unknown escape \\%c in a string", ch)
			}
		default:
			b.WriteRune(c)
		}
	}
}

func isEscape(c byte) bool { _, ok := escape(c); return ok }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// charName is the character a #\name stands for.
func charName(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "space":
		return " ", true
	case "newline", "linefeed":
		return "\n", true
	case "tab":
		return "\t", true
	case "nul", "null":
		return "\x00", true
	case "return":
		return "\r", true
	case "alarm":
		return "\a", true
	case "backspace":
		return "\b", true
	case "delete":
		return "\x7f", true
	case "escape", "altmode":
		return "\x1b", true
	case "page":
		return "\f", true
	}
	return "", false
}

// hash reads what starts with '#'.
func (r *reader) hash(line, col int) (*Node, error) {
	next := r.peekAt(1)
	two := func(name string) (*Node, error) {
		r.advance()
		r.advance()
		return r.quoted(name, line, col)
	}
	switch next {
	case '(':
		r.advance()
		return r.list(Vector, line, col)
	case ':':
		r.advance()
		r.advance()
		name := r.token()
		if name == "" {
			return nil, r.errAt(line, col, "#: without a keyword name")
		}
		return r.node(Keyword, name, line, col)
	case '\\':
		r.advance()
		r.advance()
		if r.pos >= len(r.src) {
			return nil, r.errAt(line, col, `#\ without a character: the file ends`)
		}
		first := r.advance()
		rest := r.token()
		if rest == "" {
			return r.node(Char, string(first), line, col)
		}
		name := string(first) + rest
		if c, ok := charName(name); ok {
			return r.node(Char, c, line, col)
		}
		if (first == 'x' || first == 'U' || first == 'u') && len(rest) <= 8 {
			if v, err := strconv.ParseUint(rest, 16, 32); err == nil && utf8.ValidRune(rune(v)) {
				return r.node(Char, string(rune(v)), line, col)
			}
		}
		return nil, r.errAt(line, col, `unknown character name #\%s`, name)
	case '~':
		return two("gexp")
	case '$':
		if r.peekAt(2) == '@' {
			r.advance()
			return two("ungexp-splicing")
		}
		return two("ungexp")
	case '+':
		if r.peekAt(2) == '@' {
			r.advance()
			return two("ungexp-native-splicing")
		}
		return two("ungexp-native")
	case '\'':
		return two("syntax")
	case '`':
		return two("quasisyntax")
	case ',':
		if r.peekAt(2) == '@' {
			r.advance()
			return two("unsyntax-splicing")
		}
		return two("unsyntax")
	}
	tok := r.token() // #t, #false, #x1F, #vu8(...)
	switch strings.ToLower(tok) {
	case "#t", "#true":
		return r.node(Bool, "#t", line, col)
	case "#f", "#false":
		return r.node(Bool, "#f", line, col)
	case "#vu8", "#u8":
		if c, _ := r.peek(); c == '(' {
			return r.list(Vector, line, col)
		}
	}
	if len(tok) > 2 && strings.ContainsRune("xXoObBdDeEiI", rune(tok[1])) {
		return r.node(Number, tok, line, col)
	}
	if tok == "" {
		tok = "#"
		if c, size := r.peek(); size > 0 {
			tok += string(c)
		}
	}
	return nil, r.errAt(line, col, "unknown syntax %s", tok)
}

// token reads the characters up to the next delimiter.
func (r *reader) token() string {
	start := r.pos
	for r.pos < len(r.src) {
		c, _ := r.peek()
		if isDelimiter(c) {
			break
		}
		r.advance()
	}
	return string(r.src[start:r.pos])
}

func (r *reader) atom(line, col int) (*Node, error) {
	tok := r.token()
	if tok == "" {
		c, _ := r.peek()
		return nil, r.errf("unexpected %q", c)
	}
	if tok == "." {
		return nil, r.errAt(line, col, "a dot outside a list")
	}
	if isNumber(tok) {
		return r.node(Number, tok, line, col)
	}
	return r.node(Symbol, tok, line, col)
}

// isNumber recognizes decimal numbers, fractions and floats: 5, -3, 0.1,
// 1e3, 3/4.
func isNumber(s string) bool {
	if num, den, ok := strings.Cut(s, "/"); ok {
		_, e1 := strconv.ParseInt(num, 10, 64)
		_, e2 := strconv.ParseUint(den, 10, 64)
		return e1 == nil && e2 == nil
	}
	if s == "+" || s == "-" || s == "..." {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil && !strings.ContainsAny(s, "xXpP_") && !strings.EqualFold(strings.TrimLeft(s, "+-"), "inf") && !strings.EqualFold(strings.TrimLeft(s, "+-"), "infinity") && !strings.EqualFold(strings.TrimLeft(s, "+-"), "nan")
}
