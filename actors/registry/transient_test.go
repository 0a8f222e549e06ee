package registry

import (
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// TestSpawnDoneUnfollows: once the client of a `spawn --wait` is gone
// (SpawnDone), the transient's logger lets go of its output channel,
// closing it, while the transient runs on; before, it kept filling the
// channel for as long as the transient ran.
func TestSpawnDoneUnfollows(t *testing.T) {
	h := newHarness(t, map[string]string{"services.yaml": "services: []\n"})
	follow := make(chan []byte, 1024)
	started, ended := make(chan wire.Reply, 1), make(chan SpawnEnd, 1)
	h.sys.Root.Send(h.reg, &Spawn{Args: wire.SpawnArgs{Name: "waiter", Command: []string{"sleep", "3600"}, Wait: true},
		Who: "test", ReqID: 1, Follow: follow, Started: started, End: ended})
	select {
	case rep := <-started:
		if !rep.OK {
			t.Fatalf("spawn: %+v", rep.Error)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no answer to the spawn")
	}
	h.sys.Root.Send(h.reg, &SpawnDone{Follow: follow})
	deadline := time.After(30 * time.Second)
	for {
		select {
		case _, ok := <-follow:
			if !ok {
				if pid := h.status("waiter").PID; pid == 0 {
					t.Fatal("the transient ended with its client")
				}
				return
			}
		case <-deadline:
			t.Fatal("the output channel still followed after SpawnDone")
		}
	}
}
