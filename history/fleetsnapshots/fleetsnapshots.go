package fleetsnapshots

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

// The history record kinds of snapshots.
const (
	Kind     = "fleet-snapshot"
	HostKind = "fleet-snapshot-host"
)

// Snapshot is one herd fleet snapshot: when, of which hosts.
type Snapshot struct {
	ID       int       `json:"id"`
	Time     time.Time `json:"time"`
	Selector string    `json:"selector,omitempty"`
	// Hosts are those whose facts were kept; Failed says, per host
	// whose were not, why.
	Hosts  []string          `json:"hosts"`
	Failed map[string]string `json:"failed,omitempty"`
}

// List answers snapshot-list.
type List struct {
	Snapshots []Snapshot `json:"snapshots"`
}

// Key is the store key of snapshot id; HostKey that of one host's facts.
func Key(id int) string               { return fmt.Sprintf("%012d", id) }
func HostKey(id int, h string) string { return Key(id) + "/" + h }

// Book serves snapshot-new, snapshot-put, snapshot-list, snapshot-get
// and snapshot-host from a store; Put writes through the daemon's only
// history writer and returns once the record is durable.
type Book struct {
	Store *history.Store
	Put   func(history.Record) error
	mu    sync.Mutex // numbers snapshots one at a time
}

// Serve answers one request:
//
//	snapshot-new SNAPSHOT-JSON   -> Snapshot{ID}
//	snapshot-put ID HOST JSON    -> {}
//	snapshot-list                -> List
//	snapshot-get ID              -> Snapshot
//	snapshot-host ID HOST        -> the host's facts, as put
func (b *Book) Serve(req wire.Request) wire.Reply {
	fail := func(err error) wire.Reply { return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "%v", err)) }
	a := req.Args
	id := func() (int, *wire.Reply) {
		n, err := strconv.Atoi(a[0])
		if err != nil || n < 1 {
			r := wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "no snapshot %s (herd fleet snapshot list lists them)", a[0]))
			return 0, &r
		}
		return n, nil
	}
	switch req.Action {
	case "snapshot-new":
		var s Snapshot
		if len(a) != 1 || json.Unmarshal([]byte(a[0]), &s) != nil {
			return fail(fmt.Errorf("snapshot-new: malformed snapshot"))
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		var last Snapshot
		raw, err := b.Store.LastRecord(Kind)
		if err != nil {
			return fail(err)
		}
		if raw != nil {
			json.Unmarshal(raw, &last)
		}
		s.ID = last.ID + 1
		if s.Time.IsZero() {
			s.Time = time.Now()
		}
		raw, _ = json.Marshal(s)
		if err := b.Put(history.Record{Kind: Kind, Key: Key(s.ID), Value: raw}); err != nil {
			return fail(err)
		}
		return wire.OKReply(req.ID, Snapshot{ID: s.ID})
	case "snapshot-put":
		if len(a) != 3 || !json.Valid([]byte(a[2])) || a[1] == "" {
			return fail(fmt.Errorf("snapshot-put: expected ID HOST FACTS"))
		}
		n, bad := id()
		if bad != nil {
			return *bad
		}
		if err := b.Put(history.Record{Kind: HostKind, Key: HostKey(n, a[1]), Value: []byte(a[2])}); err != nil {
			return fail(err)
		}
		return wire.OKReply(req.ID, struct{}{})
	case "snapshot-list":
		recs, err := b.Store.Records(Kind)
		if err != nil {
			return fail(err)
		}
		out := List{Snapshots: []Snapshot{}}
		for _, raw := range recs {
			var s Snapshot
			if json.Unmarshal(raw, &s) == nil {
				out.Snapshots = append(out.Snapshots, s)
			}
		}
		return wire.OKReply(req.ID, out)
	case "snapshot-get", "snapshot-host":
		if len(a) < 1 || (req.Action == "snapshot-host") != (len(a) == 2) || len(a) > 2 {
			return fail(fmt.Errorf("%s: expected ID [HOST]", req.Action))
		}
		n, bad := id()
		if bad != nil {
			return *bad
		}
		kind, key := Kind, Key(n)
		if len(a) == 2 {
			kind, key = HostKind, HostKey(n, a[1])
		}
		raw, err := b.Store.Record(kind, key)
		if err != nil {
			return fail(err)
		}
		if raw == nil && len(a) == 2 {
			return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "snapshot %s keeps no facts of host %s", a[0], a[1]))
		}
		if raw == nil {
			return wire.ErrReply(req.ID, wire.Errorf(wire.BadRequest, "no snapshot %s (herd fleet snapshot list lists them)", a[0]))
		}
		return wire.OKReply(req.ID, json.RawMessage(raw))
	}
	return fail(fmt.Errorf("%s: not a snapshot request", req.Action))
}
