package logger

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/internal/proc"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// FailureLines is how many of its last lines a failed start shows.
const FailureLines = 5

// failureWait bounds how long a failed start's answer waits for the end
// of the service's output (a process left behind may hold it open).
const failureWait = 300 * time.Millisecond

// FillFailure asks a logger to add the service's last N lines to the
// answer of a failed start (Reply, a start-failed error), and to send it
// to To. The lines come once the output of the service has ended (or
// after failureWait): a process that printed why it fails and exited
// has its last words in the answer, though its exit may reach the
// controller before its output reaches the logger.
type FillFailure struct {
	Reply wire.Reply
	N     int
	// Since is when the failed attempt began: older lines (of an earlier
	// run) are left out.
	Since time.Time
	To    chan<- wire.Reply
}

// flushFailures sends the answers FillFailure held.
type flushFailures struct{}

// fillFailure answers msg now if no pipe is open, else once they are all
// closed or failureWait passed.
func (st *loggerState) fillFailure(ctx actor.Context, msg *FillFailure) {
	if st.readers == 0 {
		st.sendFailure(msg)
		return
	}
	st.failures = append(st.failures, msg)
	if len(st.failures) == 1 {
		self, send := ctx.Self(), ctx.ActorSystem().Root.Send
		time.AfterFunc(failureWait, func() { send(self, &flushFailures{}) })
	}
}

func (st *loggerState) flushFailures() {
	for _, f := range st.failures {
		st.sendFailure(f)
	}
	st.failures = nil
}

func (st *loggerState) sendFailure(msg *FillFailure) {
	e := *msg.Reply.Error
	// Lines are stamped to the second, in local time (proc.Stamp).
	since := msg.Since.Truncate(time.Second)
	for _, l := range st.lastLines(msg.N) {
		if len(l) >= len(proc.TimeLayout) {
			if t, err := time.ParseInLocation(proc.TimeLayout, l[:len(proc.TimeLayout)], time.Local); err == nil && t.Before(since) {
				continue
			}
		}
		e.Recent = append(e.Recent, l)
	}
	msg.Reply.Error = &e
	msg.To <- msg.Reply
}
