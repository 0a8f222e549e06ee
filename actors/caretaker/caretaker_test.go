package caretaker

import (
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/capability"
)

// FuzzCaretakerGainsNoAuthority: whatever uid, target, action and
// presented swiss number a client sends, the caretaker allows exactly what
// a live grant allows: alice's status on web, and bob's start on web only
// through his unexpired child of alice's revoked-free grant.
func FuzzCaretakerGainsNoAuthority(f *testing.F) {
	alice, bob := uint32(1000), uint32(1001)
	root := capability.Grant{Swiss: capability.Swiss{1}, Target: "web", Actions: []string{"status", "start"}, Holder: capability.Holder{UID: &alice}, Created: time.Now()}
	child := capability.Grant{Swiss: capability.Swiss{2}, Target: "web", Actions: []string{"start"}, Holder: capability.Holder{UID: &bob}, Parent: &root.Swiss, Created: time.Now()}
	expired := capability.Grant{Swiss: capability.Swiss{3}, Target: "db", Actions: []string{"stop"}, Holder: capability.Holder{UID: &bob}, Expires: time.Now().Add(-time.Minute)}
	c := &caretaker{st: &caretakerState{grants: map[capability.Swiss]capability.Grant{root.Swiss: root, child.Swiss: child, expired.Swiss: expired}}}
	f.Add(uint32(1000), "web", "status", []byte{})
	f.Add(uint32(1001), "web", "start", []byte{2})
	f.Add(uint32(1001), "db", "stop", []byte{3})
	f.Add(uint32(0), "web", "start", []byte{1})
	f.Fuzz(func(t *testing.T, uid uint32, target, action string, swiss []byte) {
		u := uid
		msg := &Authorize{Holder: capability.Holder{UID: &u}, Target: target, Action: action}
		if len(swiss) > 0 {
			var s capability.Swiss
			copy(s[:], swiss)
			msg.Cap = &s
		}
		err := c.check(msg)
		want := false
		switch {
		case msg.Cap != nil && *msg.Cap == root.Swiss:
			want = uid == alice && target == "web" && (action == "status" || action == "start")
		case msg.Cap != nil && *msg.Cap == child.Swiss:
			want = uid == bob && target == "web" && action == "start"
		case msg.Cap != nil:
			want = false
		case uid == alice:
			want = target == "web" && (action == "status" || action == "start")
		case uid == bob:
			want = target == "web" && action == "start"
		}
		if (err == nil) != want {
			t.Fatalf("uid %d %s %s cap %x: allowed=%v, want %v (%v)", uid, action, target, swiss, err == nil, want, err)
		}
	})
}
