package registry

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services"
)

// slowAccounts resolves every name as the test's own user, but the
// lookup of user "slow" waits for release, as NSS may wait on a
// directory server; asked hears of each such lookup.
type slowAccounts struct {
	asked   chan struct{}
	release chan struct{}
}

func newSlowAccounts() *slowAccounts {
	return &slowAccounts{asked: make(chan struct{}, 1), release: make(chan struct{})}
}

func (a *slowAccounts) LookupUser(name string) (services.Account, error) {
	if name == "slow" {
		select {
		case a.asked <- struct{}{}:
		default:
		}
		<-a.release
	}
	return services.Account{Name: name, UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), Home: "/"}, nil
}

func (a *slowAccounts) LookupGroup(string) (uint32, error) { return uint32(os.Getgid()), nil }

// waitAsked waits for the slow lookup to have begun.
func (a *slowAccounts) waitAsked(t *testing.T) {
	t.Helper()
	select {
	case <-a.asked:
	case <-time.After(30 * time.Second):
		t.Fatal("the file's user was never looked up")
	}
}

func answer(t *testing.T, ch <-chan wire.Reply) wire.Reply {
	t.Helper()
	select {
	case rep := <-ch:
		return rep
	case <-time.After(30 * time.Second):
		t.Fatal("no answer from the registry")
		return wire.Reply{}
	}
}

var slowFiles = map[string]string{
	"services.yaml": `
services:
  - name: db
    ` + sleeper + `
`,
	"slow.yaml": `
services:
  - name: batch
    ` + sleeper + `
    user: slow
    auto-start: false
`,
}

// TestLookupsOffTheMailbox: while a loaded file's user is looked up, the
// registry goes on answering; a reload asked meanwhile waits its turn,
// then reads the loaded file too. (Issue 15, defect 5: the lookups ran
// in the registry's Receive, and a slow directory stopped every status
// and every change of state from being heard.)
func TestLookupsOffTheMailbox(t *testing.T) {
	acc := newSlowAccounts()
	h := newHarnessWith(t, slowFiles, func(e *Env) { e.Accounts = acc })
	h.run(`state db running`)
	loaded := h.send([]string{"load", "slow.yaml"})
	acc.waitAsked(t)
	h.run(`
		services db
		ok status db
	`)
	reloaded := h.send([]string{"reload"})
	close(acc.release)
	if rep := answer(t, loaded); !rep.OK || !strings.Contains(string(rep.Result), `"loaded":["batch"]`) {
		t.Fatalf("load: %+v", rep)
	}
	if rep := answer(t, reloaded); !rep.OK || string(rep.Result) != `{"added":null,"removed":null,"changed":null,"sections":null}` {
		t.Fatalf("reload: %s %+v", rep.Result, rep.Error)
	}
	h.run(`
		services batch db
		ok status batch => "state":"stopped"
	`)
}

// TestLoadDuringShutdown: a file still being read when the daemon stops
// registers nothing: no service may start while everything is stopped.
func TestLoadDuringShutdown(t *testing.T) {
	acc := newSlowAccounts()
	h := newHarnessWith(t, slowFiles, func(e *Env) { e.Accounts = acc })
	h.run(`state db running`)
	loaded := h.send([]string{"load", "slow.yaml"})
	acc.waitAsked(t)
	queued := h.send([]string{"reload"})
	h.run(`stopall`)
	close(acc.release)
	for what, ch := range map[string]<-chan wire.Reply{"load": loaded, "reload": queued} {
		if rep := answer(t, ch); rep.OK || !strings.Contains(rep.Error.Message, "stopping") {
			t.Errorf("%s: %+v", what, rep)
		}
	}
	h.run(`services db`)
}

// testRef is a sturdyref of a daemon the harness never reaches.
const testRef = "ocapn://12D3KooWDMamLiofwqYYXmELadEK3f3RNnT4aXyxrCixUxvfQ4Hj.libp2p/s/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA?addr=/unix/nowhere"

// TestImportKeptByTheHistoryWriter: an imported capability is answered
// once its record is durable, written by the history writer (the store's
// only writer).
func TestImportKeptByTheHistoryWriter(t *testing.T) {
	h := newHarness(t, map[string]string{"services.yaml": "services:\n  - name: db\n    " + sleeper + "\n"})
	h.run(`ok cap-import web ` + testRef + ` => {"loaded":["web"]}`)
	recs, err := h.store.Records(ImportRecordKind)
	if err != nil || len(recs) != 1 || !strings.Contains(string(recs[0]), `"name":"web"`) {
		t.Fatalf("import records once answered: %q %v", recs, err)
	}
}

// TestReloadKeepsImports: a reload leaves imported capabilities alone:
// they are no file's. (It removed them, and they came back at the next
// start, from their records.)
func TestReloadKeepsImports(t *testing.T) {
	h := newHarness(t, map[string]string{"services.yaml": "services:\n  - name: db\n    " + sleeper + "\n"})
	h.run(`
		ok cap-import web ` + testRef + `
		ok reload => {"added":null,"removed":null,"changed":null,"sections":null}
		services db web
	`)
}
