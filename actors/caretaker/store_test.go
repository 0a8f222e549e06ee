package caretaker

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// users resolves alice and bob.
type users struct{}

func (users) LookupUser(name string) (services.Account, error) {
	uid, ok := map[string]uint32{"alice": 1000, "bob": 1001}[name]
	if !ok {
		return services.Account{}, fmt.Errorf("unknown user %q", name)
	}
	return services.Account{Name: name, UID: uid, GID: uid}, nil
}

func (users) LookupGroup(name string) (uint32, error) { return 0, fmt.Errorf("unknown group %q", name) }

// noGrants is a store that holds none yet.
type noGrants struct{}

func (noGrants) Records(string) ([][]byte, error) { return nil, nil }
func (noGrants) Path() string                     { return "test" }

// writes is the caretaker's history writer in these tests: it hands each
// record to the test, which answers it when it likes.
type writes struct {
	t   *testing.T
	sys *actor.ActorSystem
	ch  chan *historian.PutRecord
}

func (w writes) next() *historian.PutRecord {
	w.t.Helper()
	select {
	case p := <-w.ch:
		if p.Record.Kind != GrantRecordKind {
			w.t.Fatalf("record of kind %q", p.Record.Kind)
		}
		return p
	case <-time.After(20 * time.Second):
		w.t.Fatal("the caretaker wrote no record")
		return nil
	}
}

// answer tells the caretaker the outcome of a write.
func (w writes) answer(p *historian.PutRecord, err error) {
	p.AckMsg.SetRecordErr(err)
	w.sys.Root.Send(p.AckTo, p.AckMsg)
}

func reply(t *testing.T, ch chan wire.Reply) wire.Reply {
	t.Helper()
	select {
	case rep := <-ch:
		return rep
	case <-time.After(20 * time.Second):
		t.Fatal("no answer from the caretaker")
		return wire.Reply{}
	}
}

// TestGrantsWrittenByTheHistoryWriter: a change of a grant is written by
// the history writer, not in the caretaker's Receive, which goes on
// answering meanwhile (every check of every user goes through it). A new
// grant is usable, and answered, once it is durable; one that could not
// be stored is neither; a revocation is in effect at once and answered
// once stored. (Issue 15, defect 5: the caretaker made synced writes of
// its own, inside Receive.)
func TestGrantsWrittenByTheHistoryWriter(t *testing.T) {
	sys := actor.NewActorSystem()
	w := writes{t: t, sys: sys, ch: make(chan *historian.PutRecord, 10)}
	props, err := NewProps(Env{
		Audit: func(...history.Event) {}, Store: noGrants{}, Accounts: users{},
		PutRecord: func(p *historian.PutRecord) { w.ch <- p },
		PeerID:    "12D3KooWAbc", Addrs: func() []string { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	pid := sys.Root.Spawn(props)
	defer func() { sys.Root.StopFuture(pid).Wait() }()
	command := func(action string, a wire.CapArgs) chan wire.Reply {
		b, _ := json.Marshal(a)
		ch := make(chan wire.Reply, 1)
		sys.Root.Send(pid, &Command{Req: wire.Request{ID: 7, Action: action, Args: []string{string(b)}}, Privileged: true, Reply: ch})
		return ch
	}
	allowed := func(uid uint32) error {
		ch := make(chan error, 1)
		sys.Root.Send(pid, &Authorize{Holder: capability.Holder{UID: &uid}, Target: "web", Action: "status", Reply: ch})
		select {
		case err := <-ch:
			return err
		case <-time.After(20 * time.Second):
			t.Fatalf("uid %d: the caretaker does not answer while a grant is written", uid)
			return nil
		}
	}

	granted := command("cap-grant", wire.CapArgs{Service: "web", Actions: []string{"status"}, User: "alice"})
	write := w.next()
	if err := allowed(1000); !errors.Is(err, capability.ErrDenied) {
		t.Fatalf("alice before her grant is stored: %v", err)
	}
	select {
	case rep := <-granted:
		t.Fatalf("a grant answered before it is stored: %+v", rep)
	default:
	}
	w.answer(write, nil)
	rep := reply(t, granted)
	var info wire.CapInfo
	if !rep.OK || json.Unmarshal(rep.Result, &info) != nil || !strings.HasPrefix(info.Ref, "ocapn://") {
		t.Fatalf("grant: %+v", rep)
	}
	if err := allowed(1000); err != nil {
		t.Fatalf("alice once her grant is stored: %v", err)
	}

	refused := command("cap-grant", wire.CapArgs{Service: "web", Actions: []string{"status"}, User: "bob"})
	w.answer(w.next(), errors.New("disk full"))
	if rep := reply(t, refused); rep.OK || !strings.Contains(rep.Error.Message, "could not be stored: disk full") {
		t.Fatalf("a grant that could not be stored: %+v", rep)
	}
	if err := allowed(1001); !errors.Is(err, capability.ErrDenied) {
		t.Fatalf("bob, whose grant could not be stored: %v", err)
	}

	revoked := command("cap-revoke", wire.CapArgs{Ref: info.Ref})
	write = w.next()
	if err := allowed(1000); !errors.Is(err, capability.ErrRevoked) {
		t.Fatalf("alice once her grant's revocation is asked: %v", err)
	}
	var g capability.Grant
	if err := json.Unmarshal(write.Record.Value, &g); err != nil || !g.Revoked || write.Record.Key != g.Swiss.String() {
		t.Fatalf("the revocation's record: %s %v", write.Record.Value, err)
	}
	w.answer(write, nil)
	if rep := reply(t, revoked); !rep.OK || !strings.Contains(string(rep.Result), `"revoked":true`) {
		t.Fatalf("revoke: %+v", rep)
	}
}
