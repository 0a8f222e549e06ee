package httpguard

import (
	"crypto/sha256"
	"sync"
	"time"
)

// The bad-token throttle, after netlayer/p2p's gater: an address that
// presents Strikes bad tokens (unreadable, unknown, revoked, expired, or
// refused the request) within StrikeSpan is shut out (429) for BanFor.
// A token that the caretaker accepted within knownFor still passes from
// a shut-out address, as a peer known by its capability does on libp2p:
// on loopback every local user shares 127.0.0.1, and one of them
// guessing must not lock the owner's dashboard out.
const (
	Strikes    = 20
	StrikeSpan = time.Minute
	BanFor     = 10 * time.Minute
	knownFor   = 24 * time.Hour
	// maxTracked bounds each table: past it, the oldest entries go.
	maxTracked = 4096
)

// Throttle counts bad tokens per address; its methods are safe for
// concurrent use.
type Throttle struct {
	now   func() time.Time
	mu    sync.Mutex
	times map[string][]time.Time // guarded by mu: strikes per address
	until map[string]time.Time   // guarded by mu: bans per address
	known map[[32]byte]time.Time // guarded by mu: tokens accepted, by hash
}

// NewThrottle returns an empty throttle on the clock now.
func NewThrottle(now func() time.Time) *Throttle {
	return &Throttle{now: now, times: map[string][]time.Time{}, until: map[string]time.Time{}, known: map[[32]byte]time.Time{}}
}

func tokenKey(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// Banned says until when addr is shut out for a request presenting
// token (zero: it is not).
func (t *Throttle) Banned(addr, token string) time.Time {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	until, ok := t.until[addr]
	if !ok || !now.Before(until) {
		delete(t.until, addr)
		return time.Time{}
	}
	if at, ok := t.known[tokenKey(token)]; ok && token != "" && now.Sub(at) < knownFor {
		return time.Time{}
	}
	return until
}

// Strike counts a bad token from addr; it reports whether addr is now
// shut out.
func (t *Throttle) Strike(addr string) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.times[addr]
	kept := s[:0]
	for _, at := range s {
		if now.Sub(at) <= StrikeSpan {
			kept = append(kept, at)
		}
	}
	kept = append(kept, now)
	if len(t.times) >= maxTracked || len(t.until) >= maxTracked {
		t.sweepLocked(now)
	}
	if len(kept) >= Strikes {
		delete(t.times, addr)
		t.until[addr] = now.Add(BanFor)
		return true
	}
	t.times[addr] = kept
	return false
}

// Accepted remembers a token the caretaker accepted.
func (t *Throttle) Accepted(token string) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.known) >= maxTracked {
		t.sweepLocked(now)
	}
	t.known[tokenKey(token)] = now
}

// sweepLocked forgets what has expired; if a table is still full, it is
// emptied (an attacker filling it gains only a fresh start for everyone).
func (t *Throttle) sweepLocked(now time.Time) {
	for a, s := range t.times {
		if len(s) == 0 || now.Sub(s[len(s)-1]) > StrikeSpan {
			delete(t.times, a)
		}
	}
	for a, u := range t.until {
		if !now.Before(u) {
			delete(t.until, a)
		}
	}
	for k, at := range t.known {
		if now.Sub(at) >= knownFor {
			delete(t.known, k)
		}
	}
	if len(t.times) >= maxTracked {
		clear(t.times)
	}
	if len(t.known) >= maxTracked {
		clear(t.known)
	}
	if len(t.until) >= maxTracked {
		clear(t.until)
	}
}
