package registry

import (
	"context"
	"reflect"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shepherd-go/shepherd/actors/logger"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// `herd log -n N [-f]` without a service merges every service's output:
// the last N lines of them all, oldest first, each entry naming its
// service (herd prefixes the line with it), and with -f every new line
// as it comes. Each line starts with the time its logger stamped on it
// (YYYY-MM-DD HH:MM:SS, local): lines are ordered by that, and lines of
// the same second keep their service's order, services in name order.

// Loggers asks the registry for the logger of every service that has one
// (not a group, whose instances have theirs, nor a remote service).
type Loggers struct{ Reply chan<- map[string]*actor.PID }

func (r *registry) loggersOf() map[string]*actor.PID {
	out := make(map[string]*actor.PID, len(r.st.loggers))
	for name, l := range r.st.loggers {
		if l != nil {
			out[name] = l
		}
	}
	return out
}

// allLogs answers `log -n N` without a service.
func (r *registry) allLogs(msg *ClientRequest) {
	n, err := LogLinesArg(msg.Req.Args)
	if err != nil {
		msg.Reply <- wire.ErrReply(msg.Req.ID, wire.Errorf(wire.BadRequest, "%v", err))
		return
	}
	loggers, env, id, reply := r.loggersOf(), r.st.env.Service, msg.Req.ID, msg.Reply
	asked := make(map[string]chan []string, len(loggers))
	for name, l := range loggers {
		ch := make(chan []string, 1)
		asked[name] = ch
		env.Send(l, &logger.RecentLines{N: n, Reply: ch})
	}
	env.Go(func() {
		per := map[string][]string{}
		for name, ch := range asked {
			if l, err := awaitReply(env, ch); err == nil {
				per[name] = l // a logger gone meanwhile (unloaded) has none
			}
		}
		reply <- wire.OKReply(id, wire.LogResult{Entries: MergeOutput(per, n)})
	})
}

// MergeOutput merges services' output lines (name -> lines, each oldest
// first) into entries ordered by their time stamps, the last n of them.
func MergeOutput(lines map[string][]string, n int) []wire.LogEntry {
	names := make([]string, 0, len(lines))
	for name := range lines {
		names = append(names, name)
	}
	slices.Sort(names)
	out := []wire.LogEntry{}
	for _, name := range names {
		out = append(out, OutputEntries(name, lines[name])...)
	}
	slices.SortStableFunc(out, func(a, b wire.LogEntry) int { return strings.Compare(stamp(a.Text), stamp(b.Text)) })
	return out[max(0, len(out)-n):]
}

// stamp is the time stamp a logger puts at the start of a line.
func stamp(line string) string {
	const width = len("2006-01-02 15:04:05")
	if len(line) < width {
		return line
	}
	return line[:width]
}

// FollowAll serves `log -n N -f` without a service until ctx ends: the
// last n lines of every service merged, then each new chunk of lines as
// it comes, as replies with More set that send delivers (false: the
// client is gone). Services loaded after it began are not followed. A
// follower that falls behind is dropped, as for one service.
func FollowAll(ctx context.Context, root *actor.RootContext, reg *actor.PID, req wire.Request, send func(wire.Reply) bool) {
	n, err := LogLinesArg(req.Args)
	if err != nil {
		send(wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)))
		return
	}
	got := make(chan map[string]*actor.PID, 1)
	root.Send(reg, &Loggers{Reply: got})
	var loggers map[string]*actor.PID
	select {
	case loggers = <-got:
	case <-ctx.Done():
		return
	}
	names := make([]string, 0, len(loggers))
	for name := range loggers {
		names = append(names, name)
	}
	slices.Sort(names)
	// One case per service, and the end of the request: a follower holds
	// no goroutine per service.
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())}}
	backlog := map[string][]string{}
	for _, name := range names {
		ch := make(chan []byte, 256)
		// Subscribed before the backlog is read: the logger does both in
		// order, so no line falls in between.
		root.Send(loggers[name], &logger.FollowLog{Ch: ch})
		defer root.Send(loggers[name], &logger.UnfollowLog{Ch: ch})
		recent := make(chan []string, 1)
		root.Send(loggers[name], &logger.RecentLines{N: n, Reply: recent})
		select {
		case backlog[name] = <-recent:
		case <-ctx.Done():
			return
		}
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	if !send(wire.Reply{ID: req.ID, OK: true, More: true, Result: wire.OKReply(0, wire.LogResult{Entries: MergeOutput(backlog, n)}).Result}) {
		return
	}
	for {
		i, v, ok := reflect.Select(cases)
		switch {
		case i == 0:
			return
		case !ok:
			send(wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "log follower fell behind; lines were dropped")))
			return
		}
		entries := OutputEntries(names[i-1], logger.SplitLines(v.Bytes()))
		if !send(wire.Reply{ID: req.ID, OK: true, More: true, Result: wire.OKReply(0, wire.LogResult{Entries: entries}).Result}) {
			return
		}
	}
}
