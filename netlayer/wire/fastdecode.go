package wire

import (
	"bytes"
	"strconv"
	"strings"
)

var htmlUnescaper = strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">")

// fastRequest parses the frames clients write (json.Marshal of a Request:
// no spaces, known keys in order, strings of printable ASCII without
// escapes but json.Marshal's own for <, > and &) in one pass, which matters for the chunks of herd fleet push
// (half a megabyte of base64 each, which encoding/json scans three
// times). Anything else, ok false, goes to encoding/json, which decides:
// the fast path accepts only frames that encoding/json reads the same.
func fastRequest(frame []byte) (req Request, ok bool) {
	p := frame
	lit := func(s string) bool {
		if !bytes.HasPrefix(p, []byte(s)) {
			return false
		}
		p = p[len(s):]
		return true
	}
	str := func() (string, bool) {
		if len(p) == 0 || p[0] != '"' {
			return "", false
		}
		escaped := false
		for i := 1; i < len(p); i++ {
			c := p[i]
			switch {
			case c == '"':
				s := string(p[1:i])
				if escaped {
					s = htmlUnescaper.Replace(s)
				}
				p = p[i+1:]
				return s, true
			case c == '\\':
				// json.Marshal writes <, > and & as \u003c, \u003e and
				// \u0026 (sturdyrefs have &): those, and no other escape.
				if !bytes.HasPrefix(p[i:], []byte(`\u0026`)) && !bytes.HasPrefix(p[i:], []byte(`\u003c`)) && !bytes.HasPrefix(p[i:], []byte(`\u003e`)) {
					return "", false
				}
				escaped = true
				i += 5
			case c < 0x20 || c >= 0x80:
				return "", false
			}
		}
		return "", false
	}
	if !lit(`{"id":`) {
		return req, false
	}
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	if i == 0 || i > 1 && p[0] == '0' {
		return req, false
	}
	id, err := strconv.ParseUint(string(p[:i]), 10, 64)
	if err != nil {
		return req, false
	}
	req.ID, p = id, p[i:]
	if lit(`,"service":`) {
		if req.Service, ok = str(); !ok {
			return req, false
		}
	}
	if !lit(`,"action":`) {
		return req, false
	}
	if req.Action, ok = str(); !ok {
		return req, false
	}
	if lit(`,"args":[`) {
		req.Args = []string{}
		for {
			a, ok := str()
			if !ok {
				return req, false
			}
			req.Args = append(req.Args, a)
			if lit(`]`) {
				break
			}
			if !lit(`,`) {
				return req, false
			}
		}
	}
	if lit(`,"cap":`) {
		if req.Cap, ok = str(); !ok {
			return req, false
		}
	}
	if lit(`,"relayed":true`) {
		req.Relayed = true
	}
	if !lit(`}`) || len(p) != 0 {
		return req, false
	}
	return req, req.Action != ""
}
