package query

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
	"modernc.org/sqlite"
)

// TimeFormat is how times are written in the tables: UTC, to the second,
// fixed width, so that comparing the text compares the times
// (e.time >= ago('30d')).
const TimeFormat = "2006-01-02T15:04:05Z"

// Options bound a query. The zero value is the daemon's.
type Options struct {
	// Timeout bounds the whole query, building the tables included.
	// Default 10s.
	Timeout time.Duration
	// MaxRows is the most rows returned; a query selecting more fails
	// with ErrTooManyRows. Default 1000, at most 100000.
	MaxRows int
	// MaxBytes bounds the answer's size (it travels in one frame).
	// Default 768 KiB.
	MaxBytes int
	// MaxInput is the most rows the tables may hold. Default 2,000,000.
	MaxInput int
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 1000
	}
	o.MaxRows = min(o.MaxRows, 100000)
	if o.MaxBytes <= 0 {
		o.MaxBytes = 768 << 10
	}
	if o.MaxInput <= 0 {
		o.MaxInput = 2_000_000
	}
}

// Result is a query's answer: column names and rows of values (int64,
// float64, string or nil).
type Result struct {
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// Errors of Run (wrapped with what to do about them).
var (
	ErrTooManyRows = errors.New("query: too many rows")
	ErrTimeout     = errors.New("query: time limit reached")
	ErrTooLarge    = errors.New("query: the history is too large to query whole")
)

// Schema creates the tables; docs/query.md describes them.
const Schema = `
CREATE TABLE hosts (host TEXT PRIMARY KEY, mem_total INTEGER, mem_available INTEGER, mem_available_pct REAL,
  cpus INTEGER, load1 REAL, uptime INTEGER, kernel TEXT, os TEXT, last_seen TEXT);
CREATE TABLE services (host TEXT, service TEXT, state TEXT, since TEXT, PRIMARY KEY (host, service));
CREATE TABLE events (host TEXT, service TEXT, time TEXT, kind TEXT, exit_code INTEGER, signal TEXT, message TEXT);
CREATE TABLE facts (host TEXT, subject TEXT, name TEXT, value TEXT, num REAL, unit TEXT, time TEXT);
CREATE TABLE packages (host TEXT, name TEXT, version TEXT, upstream TEXT, PRIMARY KEY (host, name));
CREATE TABLE disks (host TEXT, mount TEXT, size INTEGER, used INTEGER, used_pct REAL, PRIMARY KEY (host, mount));
CREATE INDEX events_host ON events (host, service, time);
CREATE INDEX facts_name ON facts (name, host);
CREATE INDEX packages_name ON packages (name, host);
`

var durationRE = regexp.MustCompile(`^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)\s*$`)

// ParseAgo reads ago()'s argument: "30d", "7 days", "12h", "90 minutes",
// "2w" (a week is 7 days, a day 24 hours).
func ParseAgo(s string) (time.Duration, error) {
	m := durationRE.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return 0, fmt.Errorf("ago(%q): want a number and a unit (s, m, h, d, w), as ago('30d')", s)
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	unit := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[m[2][0]]
	return time.Duration(n * float64(unit)), nil
}

// connector opens the query's private in-memory database on a driver of
// its own, which carries now() and ago() for this query's clock.
type connector struct{ d *sqlite.Driver }

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(":memory:") }
func (c connector) Driver() driver.Driver                        { return c.d }

// Run builds the tables from in and runs one SELECT over them. It never
// touches a file: the database is in memory, private to the call, and
// dropped at its end.
func Run(ctx context.Context, in Input, query string, opts Options) (*Result, error) {
	opts.defaults()
	if err := Check(query); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	now := in.Now.UTC()
	d := &sqlite.Driver{}
	d.MustRegisterDeterministicScalarFunction("now", 0, func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
		return now.Format(TimeFormat), nil
	})
	d.MustRegisterDeterministicScalarFunction("ago", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		s, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("ago: want a text such as '30d'")
		}
		dur, err := ParseAgo(s)
		if err != nil {
			return nil, err
		}
		return now.Add(-dur).Format(TimeFormat), nil
	})
	db := sql.OpenDB(connector{d})
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("query: open the in-memory database: %w", err)
	}
	defer conn.Close()
	if err := build(ctx, conn, in, opts.MaxInput, Tables(query)); err != nil {
		return nil, timedOut(ctx, err, opts)
	}
	// The tables are built: from now on, reads only.
	if _, err := conn.ExecContext(ctx, "PRAGMA query_only = ON"); err != nil {
		return nil, err
	}
	err = conn.Raw(func(dc any) error {
		r, ok := dc.(sqlite.AuthorizerRegisterer)
		if !ok {
			return errors.New("query: the sqlite driver has no authorizer")
		}
		return r.RegisterAuthorizer(func(a sqlite.AuthorizerActionCode, _, _, _, _ string) sqlite.AuthorizerReturnCode {
			switch a {
			case sqlite.AuthSelect, sqlite.AuthRead, sqlite.AuthFunction, sqlite.AuthRecursive:
				return sqlite.AuthorizerOK
			}
			return sqlite.AuthorizerDeny
		})
	})
	if err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, query)
	if err != nil {
		return nil, timedOut(ctx, fmt.Errorf("query: %w", err), opts)
	}
	defer rows.Close()
	res := &Result{Rows: [][]any{}}
	if res.Columns, err = rows.Columns(); err != nil {
		return nil, err
	}
	size := 0
	for rows.Next() {
		if len(res.Rows) == opts.MaxRows {
			return nil, fmt.Errorf("%w: more than %d rows; narrow the WHERE, add a LIMIT, or raise --limit (at most 100000)", ErrTooManyRows, opts.MaxRows)
		}
		vals := make([]any, len(res.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				vals[i] = string(x)
				size += len(x)
			case string:
				size += len(x)
			case time.Time:
				vals[i] = x.UTC().Format(TimeFormat)
			}
			size += 8
		}
		if size > opts.MaxBytes {
			return nil, fmt.Errorf("%w: the answer passed %d KiB after %d rows; select fewer columns or rows", ErrTooManyRows, opts.MaxBytes>>10, len(res.Rows))
		}
		res.Rows = append(res.Rows, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, timedOut(ctx, fmt.Errorf("query: %w", err), opts)
	}
	return res, nil
}

func timedOut(ctx context.Context, err error, opts Options) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: the query ran past %s and was interrupted; narrow it (a time window, fewer joins)", ErrTimeout, opts.Timeout)
	}
	return err
}

// tableRE finds the tables a query names.
var tableRE = regexp.MustCompile(`(?i)\b(hosts|services|events|facts|packages|disks)\b`)

// Tables are the tables query names (a name inside a string or a
// column's counts too: the table is built for nothing, never missed).
func Tables(query string) map[string]bool {
	out := map[string]bool{}
	for _, m := range tableRE.FindAllString(stripComments(query), -1) {
		out[strings.ToLower(m)] = true
	}
	return out
}

// rowsOf collects a table's rows before they go in, many to a statement.
type rowsOf struct {
	table string
	cols  int
	rows  [][]any
}

// insertChunk is how many rows one INSERT statement carries.
const insertChunk = 256

// build fills the tables the query names (all of them with want nil) in
// one transaction; the others stay empty.
func build(ctx context.Context, conn *sql.Conn, in Input, maxInput int, want map[string]bool) error {
	// The indexes are made once the rows are in: sorting them once is
	// cheaper than keeping them sorted row by row.
	i := strings.Index(Schema, "CREATE INDEX")
	tables, indexes := Schema[:i], Schema[i:]
	if _, err := conn.ExecContext(ctx, tables); err != nil {
		return fmt.Errorf("query: schema: %w", err)
	}
	wants := func(t string) bool { return want == nil || want[t] }
	hostsT := &rowsOf{table: "hosts", cols: 10}
	svcT := &rowsOf{table: "services", cols: 4}
	evT := &rowsOf{table: "events", cols: 7}
	factT := &rowsOf{table: "facts", cols: 7}
	pkgT := &rowsOf{table: "packages", cols: 4}
	diskT := &rowsOf{table: "disks", cols: 5}
	n := 0
	add := func(t *rowsOf, row ...any) error {
		if !wants(t.table) {
			return nil
		}
		if n++; n > maxInput {
			return fmt.Errorf("%w: more than %d rows in the tables; shorten the history's retention or query a collector of fewer hosts", ErrTooLarge, maxInput)
		}
		t.rows = append(t.rows, row)
		return nil
	}
	ts := func(t time.Time) string { return t.UTC().Format(TimeFormat) }
	needEvents := wants("events") || wants("services") || wants("hosts")
	for _, h := range in.Hosts {
		d := h.Derived
		if d == nil && needEvents {
			w := NewWalker()
			d = &Derived{}
			if h.Events != nil {
				err := h.Events(func(e history.Event) error {
					if err := ctx.Err(); err != nil {
						return err
					}
					w.Step(e)
					d.LastEvent = e.Time
					return nil
				})
				if err != nil {
					return fmt.Errorf("query: read the history of %s: %w", h.Name, err)
				}
			}
			d.Interruptions, d.States = w.Out, w.States()
		} else if d == nil {
			d = &Derived{}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		lastSeen := d.LastEvent
		if wants("events") {
			for _, it := range d.Interruptions {
				var code any
				if it.ExitCode != nil {
					code = *it.ExitCode
				}
				if err := add(evT, h.Name, it.Service, ts(it.Time), it.Kind, code, nullIf(it.Signal), nullIf(it.Message)); err != nil {
					return err
				}
			}
		}
		for svc, st := range d.States {
			if err := add(svcT, h.Name, svc, st.State, ts(st.Since)); err != nil {
				return err
			}
		}
		host := map[string]any{}
		disks := map[string][3]any{}
		pkgs := map[string]int{}
		for _, f := range h.Facts {
			if f.Time.After(lastSeen) {
				lastSeen = f.Time
			}
			var num any
			if f.IsNum {
				num = f.Num
			}
			if err := add(factT, h.Name, f.Subject, f.Name, f.Value(), num, nullIf(f.Unit), ts(f.Time)); err != nil {
				return err
			}
			switch {
			case f.Subject == "host":
				host[f.Name] = factValue(f)
			case strings.HasPrefix(f.Subject, "package:") && f.Name == "version" && wants("packages"):
				name := strings.TrimPrefix(f.Subject, "package:")
				if i, ok := pkgs[name]; ok { // the primary key (host, name): the last one wins
					pkgT.rows[i][2], pkgT.rows[i][3] = f.Text, Upstream(f.Text)
					continue
				}
				pkgs[name] = len(pkgT.rows)
				if err := add(pkgT, h.Name, name, f.Text, Upstream(f.Text)); err != nil {
					return err
				}
			case strings.HasPrefix(f.Subject, "mount:") && f.IsNum:
				m := strings.TrimPrefix(f.Subject, "mount:")
				v := disks[m]
				switch f.Name {
				case "disk.size":
					v[0] = int64(f.Num)
				case "disk.used":
					v[1] = int64(f.Num)
				case "disk.used_pct":
					v[2] = f.Num
				}
				disks[m] = v
			}
		}
		for m, v := range disks {
			if err := add(diskT, h.Name, m, v[0], v[1], v[2]); err != nil {
				return err
			}
		}
		var last any
		if !lastSeen.IsZero() {
			last = ts(lastSeen)
		}
		err := add(hostsT, h.Name, asInt(host["memory.total"]), asInt(host["memory.available"]), host["memory.available_pct"],
			asInt(host["cpu.count"]), host["load.1"], asInt(host["uptime"]), host["kernel"], host["os"], last)
		if err != nil {
			return err
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range []*rowsOf{hostsT, svcT, evT, factT, pkgT, diskT} {
		if err := insert(ctx, tx, t); err != nil {
			return fmt.Errorf("query: fill %s: %w", t.table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, indexes); err != nil {
		return fmt.Errorf("query: schema: %w", err)
	}
	return tx.Commit()
}

// insert puts t's rows in, insertChunk to a statement.
func insert(ctx context.Context, tx *sql.Tx, t *rowsOf) error {
	one := "(?" + strings.Repeat(",?", t.cols-1) + ")"
	var full *sql.Stmt
	args := make([]any, 0, insertChunk*t.cols)
	for rows := t.rows; len(rows) > 0; {
		k := min(len(rows), insertChunk)
		args = args[:0]
		for _, r := range rows[:k] {
			args = append(args, r...)
		}
		q := "INSERT OR REPLACE INTO " + t.table + " VALUES " + one + strings.Repeat(","+one, k-1)
		var err error
		switch {
		case k < insertChunk:
			_, err = tx.ExecContext(ctx, q, args...)
		default:
			if full == nil {
				if full, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
		rows = rows[k:]
	}
	return nil
}

func factValue(f facts.Fact) any {
	if f.IsNum {
		return f.Num
	}
	return f.Text
}

func asInt(v any) any {
	if f, ok := v.(float64); ok {
		return int64(f)
	}
	return v
}

func nullIf(s string) any {
	if s == "" {
		return nil
	}
	return s
}
