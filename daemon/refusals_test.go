package daemon

import (
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/actors/caretaker"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/history"
)

// TestRefusalsSummedUpAtWindowEnd: in a running daemon, a flood of
// refusals leaves one event in full and, at the end of the window, one
// that counts the rest.
func TestRefusalsSummedUpAtWindowEnd(t *testing.T) {
	defer func(w time.Duration) { caretaker.RefusalWindow = w }(caretaker.RefusalWindow)
	caretaker.RefusalWindow = 300 * time.Millisecond
	d, _ := startDaemon(t, "services:\n  - name: web\n")
	uid := uint32(4242)
	for range 50 {
		reply := make(chan error, 1)
		d.system.Root.Send(d.caretaker, &caretaker.Authorize{Holder: capability.Holder{UID: &uid}, Target: "web", Action: "stop", Reply: reply})
		if err := <-reply; err == nil {
			t.Fatal("uid 4242 was allowed to stop web")
		}
	}
	var refusals []history.Event
	waitFor(t, "the window's summary", func() bool {
		evs, err := d.history.Scan(history.Query{})
		if err != nil {
			t.Fatal(err)
		}
		refusals = refusals[:0]
		for _, e := range evs {
			if e.Kind == history.KindCapability && (e.Action == "refuse stop" || e.Action == "refuse") {
				refusals = append(refusals, e)
			}
		}
		return len(refusals) == 2
	})
	if r := refusals[1]; r.Who != "uid 4242" || r.Result != "refused 49 more times in 300ms (the last: 'stop' on 'web')" {
		t.Errorf("summary %+v", r)
	}
}
