package capability

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// SwissLen is the length of a swiss number in bytes.
const SwissLen = 32

// Swiss is the unguessable secret that names a grant.
type Swiss [SwissLen]byte

// NewSwiss returns a fresh random swiss number.
func NewSwiss() (Swiss, error) {
	var s Swiss
	if _, err := rand.Read(s[:]); err != nil {
		return Swiss{}, fmt.Errorf("capability: random swiss number: %w", err)
	}
	return s, nil
}

// String encodes the swiss number as unpadded base64url (43 characters).
func (s Swiss) String() string { return base64.RawURLEncoding.EncodeToString(s[:]) }

// Equal compares in constant time, so that timing reveals nothing about
// how much of a guessed swiss number was right.
func (s Swiss) Equal(o Swiss) bool { return subtle.ConstantTimeCompare(s[:], o[:]) == 1 }

// ParseSwiss decodes a swiss number.
func ParseSwiss(text string) (Swiss, error) {
	b, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return Swiss{}, fmt.Errorf("swiss number: not base64url: %v", err)
	}
	if len(b) != SwissLen {
		return Swiss{}, fmt.Errorf("swiss number: %d bytes, want %d", len(b), SwissLen)
	}
	var s Swiss
	copy(s[:], b)
	return s, nil
}

// Sturdyref names a grant on a daemon:
// ocapn://<peer-id>.libp2p/s/<swiss>?addr=<multiaddr>[&addr=...].
type Sturdyref struct {
	Peer  string   // the exporting daemon's libp2p peer ID
	Swiss Swiss    // the grant
	Addrs []string // address hints (multiaddrs)
}

// ErrBadSturdyref is wrapped by ParseSturdyref's errors.
var ErrBadSturdyref = errors.New("bad sturdyref")

// String formats the sturdyref. Address hints keep their slashes, as
// multiaddrs read; only what would break the query is escaped.
func (r Sturdyref) String() string { return r.format(r.Swiss.String()) }

// Redacted is the sturdyref without its swiss number, for anyone who may
// not use it: status shown to other holders, logs. It does not parse.
func (r Sturdyref) Redacted() string { return r.format(Redacted) }

// Redacted stands for a swiss number in redacted sturdyrefs.
const Redacted = "REDACTED"

func (r Sturdyref) format(swiss string) string {
	var b strings.Builder
	b.WriteString("ocapn://" + r.Peer + ".libp2p/s/" + swiss)
	for i, a := range r.Addrs {
		if i == 0 {
			b.WriteString("?addr=")
		} else {
			b.WriteString("&addr=")
		}
		b.WriteString(queryEscaper.Replace(a))
	}
	return b.String()
}

var queryEscaper = strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "#", "%23", " ", "%20", "?", "%3F", "=", "%3D")

// base58 is the alphabet of libp2p peer IDs.
const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// ParseSturdyref parses a sturdyref; errors say which part is wrong.
func ParseSturdyref(text string) (Sturdyref, error) {
	// Errors quote the text with its secret part cut out: they reach
	// logs and other daemons.
	bad := func(format string, args ...any) (Sturdyref, error) {
		return Sturdyref{}, fmt.Errorf("%w %q: %s", ErrBadSturdyref, clip(RedactText(text)), fmt.Sprintf(format, args...))
	}
	rest, ok := strings.CutPrefix(text, "ocapn://")
	if !ok {
		return bad("must start with ocapn://")
	}
	hostPart, query, _ := strings.Cut(rest, "?")
	host, path, ok := strings.Cut(hostPart, "/")
	if !ok {
		return bad("no /s/<swiss> path")
	}
	peer, ok := strings.CutSuffix(host, ".libp2p")
	if !ok {
		return bad("the host must be <peer-id>.libp2p")
	}
	if peer == "" || len(peer) > 128 || strings.Trim(peer, base58) != "" {
		return bad("%q is not a libp2p peer ID (base58)", clip(peer))
	}
	swissText, ok := strings.CutPrefix(path, "s/")
	if !ok || strings.Contains(swissText, "/") {
		return bad("the path must be /s/<swiss>")
	}
	swiss, err := ParseSwiss(swissText)
	if err != nil {
		return bad("%v", err)
	}
	r := Sturdyref{Peer: peer, Swiss: swiss}
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			return bad("query: %v", err)
		}
		for k, vs := range q {
			if k != "addr" {
				return bad("unknown query parameter %q (only addr)", clip(k))
			}
			for _, a := range vs {
				if !strings.HasPrefix(a, "/") || strings.Contains(a, "//") {
					return bad("addr %q is not a multiaddr (/ip4/.../tcp/...)", clip(a))
				}
				r.Addrs = append(r.Addrs, a)
			}
		}
	}
	return r, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// RedactText replaces, in text that may hold sturdyrefs (an error, a log
// line), whatever follows "/s/" up to the query with Redacted.
func RedactText(text string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, "/s/")
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		b.WriteString(text[:i+3])
		text = text[i+3:]
		end := strings.IndexFunc(text, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
		})
		if end < 0 {
			end = len(text)
		}
		if end > 0 {
			b.WriteString(Redacted)
		}
		text = text[end:]
	}
}
