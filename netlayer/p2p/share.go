package p2p

import (
	"net/netip"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// share divides a fixed number of slots (connections or streams) among
// peers that hold no capability yet, so that fresh identities cannot take
// what the others need. A peer holds at most perPeer slots, an address at
// most perAddr. While slots are
// free anyone gets one; when all are taken, a newcomer whose address holds
// fewer slots than the address holding the most takes one of that
// address's slots (its peer with the most, the oldest of them): every
// address gets an equal part under pressure, however many identities sit
// behind one, and a newcomer from an address the attack does not use always
// gets in. A newcomer from the busiest address is turned away.
//
// share decides and keeps count; it does no I/O and keeps no clock: the
// caller ends an evicted slot with the close func it gave when admitting
// it. The zero value is not usable: see newShare.
type share[K comparable] struct {
	capacity, perAddr, perPeer int
	seq                        uint64 // admission order: lower is older
	slots                      map[K]slot
	addrs                      map[string]int
	peers                      map[peer.ID]int
}

type slot struct {
	addr  string
	peer  peer.ID
	seq   uint64
	close func()
}

func newShare[K comparable](capacity, perAddr, perPeer int) share[K] {
	return share[K]{capacity: capacity, perAddr: perAddr, perPeer: perPeer, slots: map[K]slot{}, addrs: map[string]int{}, peers: map[peer.ID]int{}}
}

// admit decides on key, a connection or stream of peer id from addr, that
// close ends. ok: it holds a slot now; evicted: the slot it took, whose
// close the caller must call (nil: none was taken).
func (s *share[K]) admit(key K, addr string, id peer.ID, close func()) (ok bool, evicted *slot) {
	if _, dup := s.slots[key]; dup {
		return true, nil
	}
	if s.peers[id] >= s.perPeer || s.addrs[addr] >= s.perAddr {
		return false, nil
	}
	if len(s.slots) >= s.capacity {
		victim, ok := s.victim(addr)
		if !ok {
			return false, nil
		}
		v := s.slots[victim]
		s.remove(victim)
		evicted = &v
	}
	s.seq++
	s.slots[key] = slot{addr: addr, peer: id, seq: s.seq, close: close}
	s.addrs[addr]++
	s.peers[id]++
	return true, evicted
}

// victim picks the slot a newcomer from addr takes: one of the address
// holding the most, if that is more than addr holds; of that address the
// peer holding the most, and of that peer the oldest slot. Ties between
// addresses or peers go to the one holding the oldest slot.
func (s *share[K]) victim(addr string) (K, bool) {
	var best K
	var b slot
	found := false
	for k, c := range s.slots {
		if s.addrs[c.addr] <= s.addrs[addr] {
			continue
		}
		if !found || s.older(c, b) {
			best, b, found = k, c, true
		}
	}
	return best, found
}

// older says whether slot a goes before slot b when a slot must be taken.
func (s *share[K]) older(a, b slot) bool {
	if na, nb := s.addrs[a.addr], s.addrs[b.addr]; na != nb {
		return na > nb
	}
	if na, nb := s.peers[a.peer], s.peers[b.peer]; na != nb {
		return na > nb
	}
	return a.seq < b.seq
}

// release frees key's slot, if it holds one (an evicted or promoted slot
// is gone already).
func (s *share[K]) release(key K) {
	if _, ok := s.slots[key]; ok {
		s.remove(key)
	}
}

// promote frees every slot of peer id: it holds a capability now, and what
// it holds no longer counts against the others.
func (s *share[K]) promote(id peer.ID) {
	if s.peers[id] == 0 {
		return
	}
	for k, c := range s.slots {
		if c.peer == id {
			s.remove(k)
		}
	}
}

// drop frees every slot from addr and returns them for the caller to end
// (the address is banned).
func (s *share[K]) drop(addr string) []slot {
	var out []slot
	for k, c := range s.slots {
		if c.addr == addr {
			out = append(out, c)
			s.remove(k)
		}
	}
	return out
}

func (s *share[K]) remove(key K) {
	c := s.slots[key]
	delete(s.slots, key)
	if s.addrs[c.addr]--; s.addrs[c.addr] <= 0 {
		delete(s.addrs, c.addr)
	}
	if s.peers[c.peer]--; s.peers[c.peer] <= 0 {
		delete(s.peers, c.peer)
	}
}

// addrKey names the source address that fairness and bans count by: an
// IPv4 address, or the /64 of an IPv6 one (one host or one site usually
// has a whole /64). Anything else (no IP) counts as one address.
func addrKey(m ma.Multiaddr) string {
	if m == nil {
		return "other"
	}
	ip, err := manet.ToIP(m)
	if err != nil {
		return "other"
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return "other"
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
