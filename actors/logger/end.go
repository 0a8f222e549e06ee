package logger

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// AwaitEnd asks a logger to say, on Done, when the service's output has
// ended (every pipe it reads is closed), or Within has passed (a process
// left behind may hold a pipe open); Done is buffered, the logger never
// waits on it. Every line read before the end has
// then been written and sent to the followers: a transient's last words
// are in its log before the transient goes (actors/registry).
type AwaitEnd struct {
	Within time.Duration
	Done   chan<- struct{}
}

// endWaitsDue ends the waits of AwaitEnd whose time is up.
type endWaitsDue struct{}

func (st *loggerState) awaitEnd(ctx actor.Context, msg *AwaitEnd) {
	if st.readers == 0 {
		msg.Done <- struct{}{}
		return
	}
	st.endWaits = append(st.endWaits, msg.Done)
	self, send := ctx.Self(), ctx.ActorSystem().Root.Send
	time.AfterFunc(msg.Within, func() { send(self, &endWaitsDue{}) })
}

// flushEndWaits answers every AwaitEnd (the output ended, or time is up
// for the oldest; the later ones' time is near enough).
func (st *loggerState) flushEndWaits() {
	for _, d := range st.endWaits {
		d <- struct{}{}
	}
	st.endWaits = nil
}
