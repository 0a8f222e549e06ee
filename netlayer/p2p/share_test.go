package p2p

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// TestShare runs scripts against a share of 4 slots, 3 per address, 2 per
// peer. A line
// is "KEY ADDR PEER" (admit; the result: ok, refused, or "ok, took KEY"),
// "-KEY" (release), "+PEER" (promote) or "!ADDR" (drop, listing what it
// ends).
func TestShare(t *testing.T) {
	for _, tc := range []struct{ name, script, want string }{
		{"free slots go to anyone, two a peer",
			"1 a p\n2 a p\n3 a p\n4 a q\n-1\n5 a p",
			"ok ok refused ok released ok"},
		{"an address holds at most its part",
			"1 a p\n2 a q\n3 a r\n4 a s\n5 b t",
			"ok ok ok refused ok"},
		{"a newcomer from another address takes from the busiest",
			"1 a p\n2 a p\n3 a q\n4 c r\n5 b s",
			"ok ok ok ok ok,took1"},
		{"a newcomer from the busiest address is turned away",
			"1 a p\n2 a p\n3 a q\n4 b r\n5 a s",
			"ok ok ok ok refused"},
		{"of equal addresses, the one with the oldest slot gives",
			"1 a p\n2 b q\n3 c r\n4 d s\n5 e t\n6 f u",
			"ok ok ok ok ok,took1 ok,took2"},
		{"an address holding less than the busiest takes until it holds as much",
			"1 a p\n2 a q\n3 b r\n4 b s\n5 a t\n6 c u\n7 c v\n8 c w",
			"ok ok ok ok refused ok,took1 ok,took3 refused"},
		{"the busiest address's busiest peer gives its oldest first",
			"1 a p\n2 a q\n3 a q\n4 b r\n5 c s",
			"ok ok ok ok ok,took2"},
		{"a promoted peer leaves the share; its keys release nothing",
			"1 a p\n2 a p\n3 b q\n4 b q\n+p\n5 b q\n5 c r\n-1",
			"ok ok ok ok promoted refused ok released"},
		{"drop ends an address's slots",
			"1 a p\n2 b q\n3 a r\n!a\n4 a s",
			"ok ok ok dropped1,3 ok"},
		{"a key admitted twice holds one slot",
			"1 a p\n1 a p\n2 a p\n3 a p",
			"ok ok ok refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newShare[string](4, 3, 2)
			var got []string
			var closedKey string // the key whose close was called last
			for line := range strings.Lines(tc.script) {
				f := strings.Fields(line)
				switch {
				case strings.HasPrefix(f[0], "-"):
					s.release(f[0][1:])
					got = append(got, "released")
				case strings.HasPrefix(f[0], "+"):
					s.promote(peer.ID(f[0][1:]))
					got = append(got, "promoted")
				case strings.HasPrefix(f[0], "!"):
					var keys []string
					for _, c := range s.drop(f[0][1:]) {
						c.close()
						keys = append(keys, closedKey)
					}
					slices.Sort(keys)
					got = append(got, "dropped"+strings.Join(keys, ","))
				default:
					key := f[0]
					ok, ev := s.admit(key, f[1], peer.ID(f[2]), func() { closedKey = key })
					switch {
					case !ok:
						got = append(got, "refused")
					case ev != nil:
						ev.close()
						got = append(got, "ok,took"+closedKey)
					default:
						got = append(got, "ok")
					}
				}
				checkShare(t, &s)
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got  %s\nwant %s", g, tc.want)
			}
		})
	}
}

// checkShare checks a share's counts against its slots and its bounds.
func checkShare[K comparable](t testing.TB, s *share[K]) {
	t.Helper()
	addrs, peers := map[string]int{}, map[peer.ID]int{}
	for _, c := range s.slots {
		addrs[c.addr]++
		peers[c.peer]++
	}
	if len(s.slots) > s.capacity || fmt.Sprint(addrs) != fmt.Sprint(s.addrs) || fmt.Sprint(peers) != fmt.Sprint(s.peers) {
		t.Fatalf("share out of step: %d slots of %d, addresses %v counted %v, peers %v counted %v", len(s.slots), s.capacity, addrs, s.addrs, peers, s.peers)
	}
	for a, n := range addrs {
		if n > s.perAddr {
			t.Fatalf("address %s holds %d slots, more than %d", a, n, s.perAddr)
		}
	}
	for p, n := range peers {
		if n > s.perPeer {
			t.Fatalf("peer %s holds %d slots, more than %d", p, n, s.perPeer)
		}
	}
}

func TestAddrKeyCountsAnIPv6SiteAsOne(t *testing.T) {
	for in, want := range map[string]string{
		"/ip4/10.1.2.3/tcp/4001":                  "10.1.2.3",
		"/ip4/10.1.2.3/udp/4001/quic-v1":          "10.1.2.3",
		"/ip6/2001:db8:1:2:aaaa::1/tcp/4001":      "2001:db8:1:2::/64",
		"/ip6/2001:db8:1:2:bbbb::9/udp/1/quic-v1": "2001:db8:1:2::/64",
		"/ip6/2001:db8:1:3::1/tcp/4001":           "2001:db8:1:3::/64",
		"/ip6/::ffff:10.1.2.3/tcp/4001":           "10.1.2.3",
		"/dns4/example.com/tcp/4001":              "other",
	} {
		m, err := ma.NewMultiaddr(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := addrKey(m); got != want {
			t.Errorf("addrKey(%s) = %s, want %s", in, got, want)
		}
	}
}
