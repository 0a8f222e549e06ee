package monitors

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/query"
)

// Serve answers facts [NAME], monitors and query SQL [LIMIT]. It runs on
// the caller's goroutine (a connection's): a query never holds up an
// actor, and is bounded by query.Options.
func (m *Monitors) Serve(req wire.Request) wire.Reply {
	bad := func(format string, args ...any) wire.Reply {
		return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, format, args...))
	}
	switch req.Action {
	case "facts":
		name := ""
		if len(req.Args) > 1 {
			return bad("facts: at most one NAME (as memory or memory.total)")
		}
		if len(req.Args) == 1 {
			name = req.Args[0]
		}
		fs, err := facts.Reader{Store: m.env.Store}.Latest(name)
		if err != nil {
			return bad("facts: %v", err)
		}
		out := wire.Facts{Facts: []wire.Fact{}}
		for _, f := range fs {
			var v any = f.Text
			if f.IsNum {
				v = f.Num
			}
			out.Facts = append(out.Facts, wire.Fact{Host: f.Host, Subject: f.Subject, Name: f.Name, Value: v, Unit: f.Unit, Time: f.Time})
		}
		return wire.OKReply(req.ID, out)
	case "monitors":
		return wire.OKReply(req.ID, wire.Monitors{Monitors: m.Runs()})
	case "query":
		if len(req.Args) < 1 || len(req.Args) > 2 {
			return bad("query: one SQL statement, as herd query \"SELECT * FROM hosts\"")
		}
		opts := query.Options{}
		if len(req.Args) == 2 {
			n, err := strconv.Atoi(req.Args[1])
			if err != nil || n < 1 {
				return bad("query: --limit %q: want a number of rows", req.Args[1])
			}
			opts.MaxRows = n
		}
		m.queriesOnce.Do(m.newQueries)
		// Bounded as the query is (query.Options' default): a cold
		// cache's walk goes on at the next query from where it stopped.
		ictx, cancel := context.WithTimeout(m.env.Life, 10*time.Second)
		in, err := m.queries.Input(ictx, m.env.Now(), 0)
		cancel()
		if err != nil {
			if ictx.Err() != nil {
				return wire.ErrReply(req.ID, wire.Errorf(wire.Timeout, "query: reading the history took more than 10s; what was read is kept, try again"))
			}
			return bad("query: %v", err)
		}
		res, err := query.Run(m.env.Life, in, req.Args[0], opts)
		if err != nil {
			kind := wire.BadRequest
			if errors.Is(err, query.ErrTimeout) || errors.Is(err, context.Canceled) {
				kind = wire.Timeout
			}
			return wire.ErrReply(req.ID, wire.Errorf(kind, "%v", err))
		}
		out := wire.QueryResult{Columns: res.Columns, Rows: make([][]wire.Scalar, len(res.Rows))}
		for i, r := range res.Rows {
			out.Rows[i] = make([]wire.Scalar, len(r))
			for j, v := range r {
				out.Rows[i][j] = v
			}
		}
		return wire.OKReply(req.ID, out)
	}
	return bad("unknown request %q", req.Action)
}

// Handles says whether Serve answers action.
func Handles(action string) bool {
	return action == "facts" || action == "monitors" || action == "query"
}
