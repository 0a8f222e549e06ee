package p2p

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// fakeClock is a gater's clock that a test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }

// isKnown says whether id is known now.
func (g *gater) isKnown(id peer.ID) bool { return g.known.has(id, g.now()) }

func testGater() (*gater, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	g := newGater()
	g.now = c.now
	return g, c
}

// TestBansCountKeysAndAddresses: fresh keys that each stay under the
// per-peer ban still close their address to unknown peers, for banFor; a
// known peer on it is not affected by them, but is by its own refusals.
func TestBansCountKeysAndAddresses(t *testing.T) {
	g, clock := testGater()
	const bad, other = "192.0.2.7", "198.51.100.1"
	known := peer.ID("known")
	g.authorized(known)

	var logged []string
	g.logf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	refusals := 0
	for k := 0; g.allowed(peer.ID("fresh"), bad); k++ {
		id := peer.ID(fmt.Sprintf("guesser-%d", k))
		for range strikes - 1 {
			banned, after := g.refused(id, []string{bad})
			if banned {
				t.Fatalf("%s banned after fewer than %d refusals", id, strikes)
			}
			for _, f := range after {
				f()
			}
			refusals++
		}
		if k > addrStrikes {
			t.Fatalf("the address is still open after %d refusals", refusals)
		}
	}
	if refusals < addrStrikes || refusals >= addrStrikes+strikes {
		t.Errorf("the address closed after %d refusals, want %d", refusals, addrStrikes)
	}
	if len(logged) != 1 || !strings.HasPrefix(logged[0], "libp2p: address 192.0.2.7 closed to peers without a capability for 10m0s") {
		t.Errorf("logged %q", logged)
	}
	if !g.allowed(known, bad) {
		t.Error("a known peer on the banned address is kept out")
	}
	if !g.allowed(peer.ID("fresh"), other) {
		t.Error("a new peer from another address is kept out")
	}

	// A known peer's refusals are its own: they ban it, not its address.
	g2, _ := testGater()
	g2.authorized(known)
	for i := range strikes {
		banned, closers := g2.refused(known, []string{other})
		if banned != (i == strikes-1) || len(closers) != 0 {
			t.Fatalf("refusal %d of a known peer: banned %v, %d closed", i+1, banned, len(closers))
		}
	}
	if g2.allowed(known, other) || !g2.allowed(peer.ID("fresh"), other) {
		t.Error("a known peer's own refusals should ban it and nobody else")
	}

	clock.add(banFor)
	if !g.allowed(peer.ID("fresh"), bad) {
		t.Error("the address is still banned after banFor")
	}
}

func TestKnownLastsADayAfterTheLastAuthorization(t *testing.T) {
	g, clock := testGater()
	id := peer.ID("holder")
	if g.isKnown(id) {
		t.Fatal("known before any request")
	}
	g.authorized(id)
	clock.add(knownFor - time.Second)
	g.authorized(id)
	clock.add(knownFor - time.Second)
	if !g.isKnown(id) {
		t.Error("forgotten a day after its first authorized request, though it made another")
	}
	clock.add(time.Second)
	if g.isKnown(id) {
		t.Error("still known a day after its last authorized request")
	}
	g.dialed(id, 1)
	if g.isKnown(id) || !g.unbounded(id) {
		t.Error("a peer this daemon dialed should keep libp2p's bounds, and nothing else")
	}
	g.dialed(id, -1)
	if g.unbounded(id) {
		t.Error("still unbounded after the dialed connection ended")
	}

	// At most maxKnown are remembered: the least recently authorized go.
	for i := range maxKnown + 1 {
		g.authorized(peer.ID(fmt.Sprint(i)))
		clock.add(time.Millisecond)
	}
	if g.isKnown(peer.ID("0")) || !g.isKnown(peer.ID("1")) || len(g.known.until) != maxKnown {
		t.Errorf("%d known; the oldest known %v", len(g.known.until), g.isKnown(peer.ID("0")))
	}
}

// TestStrikesOfFreshKeysAreForgotten: a flood of fresh keys and
// addresses is forgotten once expired, at an amortized constant cost: the
// tables never hold more than twice the most strikes live at once.
func TestStrikesOfFreshKeysAreForgotten(t *testing.T) {
	g, clock := testGater()
	flood := func(round int) {
		for i := range 3 * sweepAt {
			g.refused(peer.ID(fmt.Sprint(round, i)), []string{fmt.Sprintf("10.%d.%d.%d", round, i/256, i%256)})
			if n := len(g.peers.times) + len(g.peers.until); n > 2*3*sweepAt {
				t.Fatalf("round %d: %d peers in the table, at most %d live", round, n, 3*sweepAt)
			}
		}
	}
	flood(0)
	clock.add(strikeSpan + time.Second)
	flood(1)
	if _, ok := g.peers.times[peer.ID(fmt.Sprint(0, 0))]; ok {
		t.Error("an expired strike is kept")
	}
	if _, ok := g.addrs.times["10.0.0.0"]; ok {
		t.Error("an expired address strike is kept")
	}
}
