package registry

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/actors/service"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/intent"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// kept are the intent records in the harness's store, by key.
func (h *harness) kept() map[string][]byte {
	h.t.Helper()
	recs, err := h.store.RecordsByKey(intent.RecordKind)
	if err != nil {
		h.t.Fatal(err)
	}
	return recs
}

// waitKept waits until the store holds intent records for keys, and no
// other.
func (h *harness) waitKept(keys ...string) {
	h.t.Helper()
	slices.Sort(keys)
	var got []string
	end := time.Now().Add(30 * time.Second)
	for {
		got = slices.Sorted(maps.Keys(h.kept()))
		if slices.Equal(got, keys) {
			return
		}
		if time.Now().After(end) {
			h.t.Fatalf("intent records %q, want %q", got, keys)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const poolAndWeb = pool3 + `  - name: web
    ` + sleeper + `
`

// TestIntentRecordsFollowTheServices: a scale is kept once herd scale
// answers, and goes when the group runs its file's number again; what is
// forgotten (a scale down, an unload, a reload) takes its record with it;
// a reload whose file changes the group's number drops its scale.
func TestIntentRecordsFollowTheServices(t *testing.T) {
	h := newHarness(t, map[string]string{"services.yaml": poolAndWeb})
	h.run(`
		state pool running
		ok scale pool 5
	`)
	if r, err := intent.Decode("pool", h.kept()["pool"]); err != nil || r.Instances != 5 || r.Declared != 3 {
		t.Fatalf("after herd scale, kept %+v %v", r, err)
	}
	h.run(`
		state pool.5 running
		ok disable pool.5
		ok disable web
	`)
	h.waitKept("pool", "pool.5", "web")
	h.run(`
		ok scale pool 3
		services pool pool.1 pool.2 pool.3 web
	`)
	h.waitKept("web")
	h.run(`ok unload web`)
	h.waitKept()

	// A reload that keeps the file's number keeps the scale; one that
	// changes it drops it.
	h.run(`ok scale pool 4`)
	h.waitKept("pool")
	h.run(`ok reload`)
	h.waitKept("pool")
	h.write("services.yaml", `
services:
  - name: pool
    `+sleeper+`
    instances: 2
`)
	h.run(`
		ok reload
		services pool pool.1 pool.2
	`)
	h.waitKept()
}

// TestBootIntent: what a starting daemon brings back reaches the
// registry: a disabled service stays so (and is not auto-started), a
// scaled group runs its number, and its definition keeps its file's
// number (a reload that keeps it keeps the scale).
func TestBootIntent(t *testing.T) {
	h := newHarness(t, map[string]string{"other.yaml": poolAndWeb})
	c, err := config.LoadPath(h.path("other.yaml"), config.SystemAccounts{})
	if err != nil {
		t.Fatal(err)
	}
	_, web := intent.ServiceRecord("web", lifecycle.KeepIntent{Disabled: lifecycle.Disabled{At: time.Now(), Cause: lifecycle.CauseUser, Who: "uid 0"}})
	_, pool := intent.GroupRecord("pool", 4, 3)
	_, gone := intent.ServiceRecord("gone", lifecycle.KeepIntent{Disabled: lifecycle.Disabled{Cause: lifecycle.CauseUser}})
	var logs []string
	boot := BootIntent(fakeRecords{"web": web, "pool": pool, "gone": gone}, c.Services, func(f string, args ...any) { logs = append(logs, f) })
	if len(logs) != 3 || len(boot.Forget) != 1 || boot.Forget[0].Key != "gone" || boot.Forget[0].Value != nil {
		t.Fatalf("logs %q, forget %+v", logs, boot.Forget)
	}
	res := ask(h, func(ch chan<- RegisterResult) any {
		return &Register{Specs: boot.Specs, AutoStart: true, Intent: boot, Reply: ch}
	})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	h.run(`
		services pool pool.1 pool.2 pool.3 pool.4 web
		state pool.4 running
		fail start web => "disabled":true
	`)
	if s := h.summaries()["web"]; s.Enabled || s.State != "stopped" {
		t.Fatalf("web: %+v", s)
	}
	if st := h.status("pool"); st.DeclaredInstances != 3 || len(st.Instances) != 4 {
		t.Fatalf("pool: declared %d, %d instances", st.DeclaredInstances, len(st.Instances))
	}
}

type fakeRecords map[string][]byte

func (f fakeRecords) RecordsByKey(string) (map[string][]byte, error) { return f, nil }

// TestReexecKeepsIntentAgain: after a re-exec the store holds each
// service's intent as it was handed over, whatever the daemon before
// kept (an older binary kept none; a stale record goes).
func TestReexecKeepsIntentAgain(t *testing.T) {
	h := newHarness(t, map[string]string{"other.yaml": poolAndWeb + "  - name: other\n    " + sleeper + "\n"})
	c, err := config.LoadPath(h.path("other.yaml"), config.SystemAccounts{})
	if err != nil {
		t.Fatal(err)
	}
	_, stale := intent.ServiceRecord("other", lifecycle.KeepIntent{Disabled: lifecycle.Disabled{Cause: lifecycle.CauseUser}})
	if err := h.store.Write(nil, []history.Record{{Kind: intent.RecordKind, Key: "other", Value: stale}}, true); err != nil {
		t.Fatal(err)
	}
	restored := map[string]service.Saved{}
	var specs []*services.Spec
	for _, s := range c.Services {
		if s.Name == "pool" {
			g := *s
			g.Instances = 4
			specs = append(specs, &g)
			continue
		}
		specs = append(specs, s)
		// web disabled by an older binary, which said not why; other
		// enabled.
		restored[s.Name] = service.Saved{Spec: s, Machine: lifecycle.Saved{State: lifecycle.Stopped, Since: time.Now(), Enabled: s.Name == "other"}}
	}
	res := ask(h, func(ch chan<- RegisterResult) any {
		return &Register{Specs: specs, Restored: restored, Declared: map[string]int{"pool": 3}, Files: []string{h.path("other.yaml")}, Reply: ch}
	})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	h.waitKept("pool", "web")
	if r, err := intent.Decode("web", h.kept()["web"]); err != nil || r.Disabled == nil || r.Disabled.Cause != lifecycle.CauseNone {
		t.Fatalf("web: %+v %v", r, err)
	}
	if r, err := intent.Decode("pool", h.kept()["pool"]); err != nil || r.Instances != 4 || r.Declared != 3 {
		t.Fatalf("pool: %+v %v", r, err)
	}
}
