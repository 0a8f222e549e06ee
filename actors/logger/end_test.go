package logger

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/internal/proc"
)

// TestAwaitEndWaitsForTheOutputsEnd: AwaitEnd is answered once every
// pipe is closed, after the lines read before it reached the followers;
// at once when none is open; after Within when one stays open.
func TestAwaitEndWaitsForTheOutputsEnd(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	l := sys.Root.Spawn(NewFilesProps("job", Files{}, t.Logf))
	ch := make(chan []byte, 8)
	sys.Root.Send(l, &FollowLog{Ch: ch})
	sys.Root.Send(l, &proc.Opened{})
	done := make(chan struct{}, 1)
	sys.Root.Send(l, &AwaitEnd{Within: time.Minute, Done: done})
	sys.Root.Send(l, chunkOf([]string{"last words"}, time.Now()))
	select {
	case <-done:
		t.Fatal("answered while the pipe is open")
	case <-time.After(50 * time.Millisecond):
	}
	sys.Root.Send(l, &proc.Closed{})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("not answered once the pipe closed")
	}
	select {
	case c := <-ch:
		if len(c) == 0 {
			t.Fatal("empty chunk")
		}
	default:
		t.Fatal("the last line had not reached the follower when the end was answered")
	}
	sys.Root.Send(l, &AwaitEnd{Within: time.Minute, Done: done})
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("not answered at once with no pipe open")
	}
	sys.Root.Send(l, &proc.Opened{})
	start := time.Now()
	sys.Root.Send(l, &AwaitEnd{Within: 100 * time.Millisecond, Done: done})
	select {
	case <-done:
		if time.Since(start) < 100*time.Millisecond {
			t.Error("answered before Within with a pipe open")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not answered after Within")
	}
}
