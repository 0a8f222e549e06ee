package daemon

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestSpawnNeedsTheDaemonsAuthority: spawning runs a command, so only
// the daemon's owner (or root) on the socket may, without a capability:
// not another local user, not a capability's holder (even root
// presenting one, even one whose grant names spawn), not a network peer.
// The owner's spawn makes a transient that ends and is gone.
func TestSpawnNeedsTheDaemonsAuthority(t *testing.T) {
	d, _ := startDaemon(t, "services:\n  - name: web\n    command: [sleep, \"3600\"]\n")
	var grant wire.CapInfo
	if e := call(t, d, wire.Request{Action: "cap-grant", Args: []string{`{"service":"web","actions":["status","spawn"],"user":"nobody"}`}}, &grant); e != nil {
		t.Fatal(e)
	}
	a := &api{d: d}
	args, _ := json.Marshal(wire.SpawnArgs{Command: []string{"true"}, Wait: true})
	spawn := func(peer local.Peer, cap string) []wire.Reply {
		out := &collect{}
		a.ServeRequest(context.Background(), peer, wire.Request{ID: 1, Action: "spawn", Args: []string{string(args)}, Cap: cap}, out)
		out.mu.Lock()
		defer out.mu.Unlock()
		return out.replies
	}
	for _, c := range []struct {
		what string
		peer local.Peer
		cap  string
	}{
		{"another local user", local.Peer{UID: 65534}, ""},
		{"another local user with a capability", local.Peer{UID: 65534}, grant.Ref},
		{"root presenting a capability", local.Peer{UID: 0}, grant.Ref},
		{"a network peer", local.Peer{Remote: "12D3KooWDMamLiofwqYYXmELadEK3f3RNnT4aXyxrCixUxvfQ4Hj"}, ""},
		{"a network peer with a capability", local.Peer{Remote: "12D3KooWDMamLiofwqYYXmELadEK3f3RNnT4aXyxrCixUxvfQ4Hj"}, grant.Ref},
	} {
		r := spawn(c.peer, c.cap)
		if len(r) != 1 || r[0].OK || r[0].Error.Kind != wire.PermissionDenied {
			t.Errorf("%s: %+v, want one permission-denied", c.what, r)
		}
	}
	var all wire.StatusAll
	if e := call(t, d, wire.Request{Action: "status"}, &all); e != nil || len(all.Services) != 1 {
		t.Fatalf("after the refusals: %+v, %v", all.Services, e)
	}
	r := spawn(local.Peer{UID: uint32(d.uid)}, "")
	last := r[len(r)-1]
	var res wire.SpawnResult
	if !last.OK || json.Unmarshal(last.Result, &res) != nil || res.Service != "transient-1" || res.Exit == nil || res.Status != 0 {
		t.Fatalf("the owner's spawn: %+v (%+v)", r, res)
	}
	if e := call(t, d, wire.Request{Action: "status"}, &all); e != nil || len(all.Services) != 1 {
		t.Fatalf("after the transient ended: %+v, %v", all.Services, e)
	}
}
