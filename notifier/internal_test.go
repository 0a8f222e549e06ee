package notifier

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/historian"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/services/alerting"
	"github.com/shepherd-go/shepherd/services/config"
)

func TestTemplatesEscapeWhatServicesSay(t *testing.T) {
	hostile := alerting.Clean("\"}, \"admin\": true, {\"x\": \"\x1b[2J\r\nSubject: pwned", alerting.MaxMessage)
	b, err := render("t", `{"m": {{json .Message}}, "k": {{json .Key}}}`, alerting.Alert{Key: "1/t/firing", Message: hostile})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || len(m) != 2 || m["m"] != hostile {
		t.Errorf("%s: %v %v", b, m, err)
	}
	if h := headerSafe("a\r\nBcc: x@example.com"); strings.ContainsAny(h, "\r\n") {
		t.Errorf("header %q", h)
	}
	if _, err := render("t", `{{range .Message}}{{end}}`, alerting.Alert{}); err == nil {
		t.Error("a bad template rendered")
	}
	big := alerting.Alert{Message: strings.Repeat("x", 1000)}
	if _, err := render("t", strings.Repeat("{{.Message}}", 100), big); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("an unbounded body: %v", err)
	}
}

// fakeWriter stands for the history writer: it keeps what it is asked
// to write and says it is durable at once.
type fakeWriter struct {
	mu   sync.Mutex
	evs  []history.Event
	recs []history.Record
}

func (f *fakeWriter) Receive(ctx actor.Context) {
	if r, ok := ctx.Message().(*historian.Record); ok {
		f.mu.Lock()
		f.evs = append(f.evs, r.Events...)
		f.recs = append(f.recs, r.Records...)
		f.mu.Unlock()
		if r.Done != nil {
			close(r.Done)
		}
	}
}

func TestTheOutboxIsBounded(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	w := &fakeWriter{}
	pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return w }))
	cfg := &config.Notify{OutboxSize: 2, RetryMax: time.Second, MaxAge: time.Hour}
	n := &Notifier{env: Env{System: sys, Historian: pid, Life: context.Background(), Logf: t.Logf}, cfg: cfg,
		open: map[string]bool{}, box: newOutbox(2), m: alerting.New(alerting.Policy{})}
	var effs []alerting.Effect
	for _, k := range []string{"a", "b", "c"} {
		effs = append(effs, alerting.Notify{Alert: alerting.Alert{Key: k, Target: "hook", Status: alerting.Firing, Subject: "job " + k}})
	}
	n.apply(effs, true)
	if n.box.len() != 2 {
		t.Errorf("%d waiting, want 2", n.box.len())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	outbox, cursor := 0, 0
	for _, r := range w.recs {
		switch r.Kind {
		case KindOutbox:
			outbox++
		case KindCursor:
			cursor++
		}
	}
	if outbox != 2 || cursor != 1 || len(w.evs) != 1 || w.evs[0].Result != "dropped: the outbox is full" || w.evs[0].Message != "c" {
		t.Errorf("records %+v, events %+v", w.recs, w.evs)
	}
}

func TestDueTakesAtMostMaxWorkers(t *testing.T) {
	b := newOutbox(100)
	now := time.Now()
	for i := range 10 {
		b.put(&Delivery{Alert: alerting.Alert{Key: string(rune('a' + i))}})
	}
	b.put(&Delivery{Alert: alerting.Alert{Key: "later"}, next: now.Add(time.Minute)})
	ds, next := b.due(now)
	if len(ds) != MaxWorkers || next.IsZero() || next.After(now.Add(time.Second)) {
		t.Errorf("%d taken, next %v", len(ds), next.Sub(now))
	}
	if more, _ := b.due(now); len(more) != 0 {
		t.Errorf("%d more taken while every worker is busy", len(more))
	}
}
