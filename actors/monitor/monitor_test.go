package monitor

import (
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/internal/proc"
)

// owner is a fake controller: it keeps what the monitor tells it.
type owner struct {
	mu   sync.Mutex
	msgs []any
}

func (o *owner) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *Spawned, *Exited:
		o.mu.Lock()
		o.msgs = append(o.msgs, ctx.Message())
		o.mu.Unlock()
	}
}

func (o *owner) wait(t *testing.T, n int) []any {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for {
		o.mu.Lock()
		got := append([]any(nil), o.msgs...)
		o.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(end) {
			t.Fatalf("timed out: %d of %d messages: %v", len(got), n, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSpawnThenExitInOrder: the monitor alone starts processes and
// routes every reaped exit to the owner, which always hears of a start
// before of its exit, even for a process that exits at once; a process
// that does not start is answered with the reason.
func TestSpawnThenExitInOrder(t *testing.T) {
	sys := actor.NewActorSystem()
	var wg sync.WaitGroup
	env := Env{Go: func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }, Logf: t.Logf}
	props, err := NewProps(env)
	if err != nil {
		t.Fatal(err)
	}
	mon := sys.Root.Spawn(props)
	stop := make(chan struct{})
	defer close(stop)
	go proc.Reap(func(e proc.Exit) { sys.Root.Send(mon, e) }, stop, nil)
	o := &owner{}
	self := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return o }))
	sys.Root.Send(mon, &Spawn{Argv: []string{"sh", "-c", "echo hi; exit 3"}, Env: []string{"PATH=" + os.Getenv("PATH")}, Owner: self, Tag: 1})
	msgs := o.wait(t, 2)
	sp, ok := msgs[0].(*Spawned)
	if !ok || sp.Err != nil || sp.Tag != 1 || sp.PID <= 0 {
		t.Fatalf("first message %#v", msgs[0])
	}
	out, _ := io.ReadAll(sp.Output)
	sp.Output.Close()
	if string(out) != "hi\n" {
		t.Errorf("output %q", out)
	}
	ex, ok := msgs[1].(*Exited)
	if !ok || ex.PID != sp.PID || ex.Status.Code != 3 || ex.At.Before(sp.At) {
		t.Fatalf("second message %#v (spawned at %v)", msgs[1], sp.At)
	}
	sys.Root.Send(mon, &Spawn{Argv: []string{"/does/not/exist"}, Owner: self, Tag: 2})
	msgs = o.wait(t, 3)
	if sp, ok := msgs[2].(*Spawned); !ok || sp.Err == nil || sp.Tag != 2 {
		t.Fatalf("a spawn that fails: %#v", msgs[2])
	}
	counters := make(chan Counters, 1)
	sys.Root.Send(mon, &Stats{Reply: counters})
	if c := <-counters; c.Children != 0 {
		t.Errorf("counters %+v: a child is still counted", c)
	}
	sys.Root.StopFuture(mon).Wait()
	wg.Wait()
}
