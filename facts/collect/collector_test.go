package collect

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/query"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

var testRef = capability.Sturdyref{Peer: "12D3KooWCs4QZ2ZCtCyE7CDDL7ZyD1DHqLJSFVe2GmxuX6Lsg5ho", Swiss: capability.Swiss{1}, Addrs: []string{"/ip4/127.0.0.1/tcp/1"}}.String()

// fakeHost answers facts-pull from s over an in-memory connection, as a
// host's daemon does over libp2p; pages counts the pages served.
type fakeHost struct {
	s     *history.Store
	mu    sync.Mutex
	pages int
	down  bool
}

func (f *fakeHost) dial(ctx context.Context, _ capability.Sturdyref) (*local.Client, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return nil, errors.New("dial backoff")
	}
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		dec := wire.NewDecoder(b)
		for {
			frame, err := dec.Next()
			if err != nil {
				return
			}
			req, err := wire.DecodeRequest(frame)
			if err != nil {
				return
			}
			f.mu.Lock()
			f.pages++
			f.mu.Unlock()
			if wire.EncodeReply(b, Serve(f.s, req)) != nil {
				return
			}
		}
	}()
	return local.NewClient(a), nil
}

// startCollector runs a collector of h over coll until the returned stop
// is called; stop waits for its loops to end.
func startCollector(t *testing.T, coll *history.Store, f *fakeHost, h monitorconfig.CollectHost) (*Collector, func()) {
	t.Helper()
	life, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	c := StartHosts(Env{
		Store: coll, Life: life, Dial: f.dial, CallTimeout: 5 * time.Second,
		Write: func(recs []history.Record) {
			if err := coll.Write(nil, recs, false); err != nil {
				t.Error(err)
			}
		},
		Go: func(fn func()) { wg.Add(1); go func() { defer wg.Done(); fn() }() },
	}, []monitorconfig.CollectHost{h})
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return c, stop
}

func waitStatus(t *testing.T, c *Collector, what string, ok func(wire.CollectHost) bool) wire.CollectHost {
	t.Helper()
	end := time.Now().Add(30 * time.Second)
	for {
		st := c.Status()
		if len(st.Hosts) == 1 && ok(st.Hosts[0]) {
			return st.Hosts[0]
		}
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s: %+v", what, st)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCollectorStopsMidPullAndResumesExactly: a collector stopped in
// the middle of a host's history (pages of 7 items, 100 a round) resumes, in a new
// collector over the same store, from the cursor of the last page it
// stored: every event once, none missing, and the counts of its status
// are those of the store.
func TestCollectorStopsMidPullAndResumesExactly(t *testing.T) {
	hostStore, coll := openStore(t), openStore(t)
	t0 := time.Now().Add(-time.Hour)
	var evs []history.Event
	for i := range 3000 {
		evs = append(evs, history.Event{Seq: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond), Service: "filler", Kind: history.KindAction})
	}
	var fs []facts.Fact
	for i := range 40 {
		fs = append(fs, facts.Fact{Subject: "host", Name: "load.1", Num: float64(i), IsNum: true, Time: t0.Add(time.Duration(i) * time.Second)})
	}
	if err := hostStore.Write(evs, facts.Records(fs), true); err != nil {
		t.Fatal(err)
	}
	f := &fakeHost{s: hostStore}
	h := monitorconfig.CollectHost{Name: "h5", Ref: testRef, Interval: 10 * time.Millisecond, PageSize: 7}
	c, stop := startCollector(t, coll, f, h)
	mid := waitStatus(t, c, "a cursor past the first page", func(x wire.CollectHost) bool { return x.Seq > 7 })
	stop()
	if mid.Seq >= 3000 || mid.Behind == nil || *mid.Behind == 0 || mid.PageSize != 7 || !mid.Pulling {
		t.Fatalf("status mid-pull: %+v", mid)
	}
	st, _ := LoadState(coll, "h5")
	t.Logf("stopped at %d; stored %+v", mid.Seq, st)

	c, _ = startCollector(t, coll, f, h)
	done := waitStatus(t, c, "the whole history", func(x wire.CollectHost) bool { return x.Facts == 40 && !x.Pulling })
	if done.Seq != 3000 || done.Head != 3000 || done.Behind == nil || *done.Behind != 0 || done.Events != 3000 || done.Facts != 40 ||
		done.Failures != 0 || done.Error != "" || done.LastSuccess.IsZero() {
		t.Fatalf("status: %+v", done)
	}
	n, last := uint64(0), uint64(0)
	coll.EachRecord(query.KindHostEvent, "h5\x00", "h5\x01", func(_ string, v []byte) error {
		var e history.Event
		json.Unmarshal(v, &e)
		if e.Seq != last+1 {
			t.Fatalf("event %d after %d", e.Seq, last)
		}
		n, last = n+1, e.Seq
		return nil
	})
	if n != 3000 {
		t.Fatalf("%d events stored", n)
	}
	f.mu.Lock()
	pages := f.pages
	f.mu.Unlock()
	if want := (3000+40)/7 + 1; pages < want || pages > want+50 { // and one a round after

		t.Errorf("%d pages served, want about %d", pages, want)
	}
}

// TestCollectorStatusSaysWhyAPullFails: an unreachable host, then one
// that answers; the last error stays, failures in a row go back to 0.
func TestCollectorStatusSaysWhyAPullFails(t *testing.T) {
	f := &fakeHost{s: openStore(t), down: true}
	if err := f.s.Append([]history.Event{{Seq: 1, Time: time.Now(), Kind: history.KindDaemonStart}}, true); err != nil {
		t.Fatal(err)
	}
	coll := openStore(t)
	c, _ := startCollector(t, coll, f, monitorconfig.CollectHost{Name: "h1", Ref: testRef, Interval: 20 * time.Millisecond, PageSize: MaxItems})
	down := waitStatus(t, c, "a failure", func(x wire.CollectHost) bool { return x.Failures >= 2 })
	if !strings.HasPrefix(down.Error, "unreachable: dial backoff") || down.ErrorTime.IsZero() || down.Behind != nil || down.Events != 0 {
		t.Fatalf("status: %+v", down)
	}
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	up := waitStatus(t, c, "a success", func(x wire.CollectHost) bool { return x.Failures == 0 && x.Events == 1 })
	if up.Error == "" || up.Head != 1 || up.Seq != 1 {
		t.Fatalf("status: %+v", up)
	}
	r := c.Serve(wire.Request{ID: 3, Action: StatusAction})
	var st wire.CollectStatus
	if !r.OK || json.Unmarshal(r.Result, &st) != nil || !st.Configured || len(st.Hosts) != 1 || st.Hosts[0].Host != "h1" {
		t.Fatalf("serve: %+v %s", r, r.Result)
	}
}

// TestCollectorNotConfigured: a daemon with no collect: list says so.
func TestCollectorNotConfigured(t *testing.T) {
	for _, c := range []*Collector{nil, StartHosts(Env{Go: func(func()) {}}, nil)} {
		r := c.Serve(wire.Request{Action: StatusAction})
		if !r.OK || string(r.Result) != `{"configured":false,"hosts":[]}` {
			t.Errorf("%s", r.Result)
		}
	}
	if monitorconfig.MaxPageSize != MaxItems {
		t.Errorf("monitorconfig.MaxPageSize %d, MaxItems %d", monitorconfig.MaxPageSize, MaxItems)
	}
}

// TestPageHeadAndSize: a page holds at most the items asked for, and
// says the host's last sequence; a wiped host's head is below the cursor.
func TestPageHeadAndSize(t *testing.T) {
	s := openStore(t)
	var evs []history.Event
	for i := range 30 {
		evs = append(evs, history.Event{Seq: uint64(i + 1), Time: time.Now(), Kind: history.KindAction})
	}
	if err := s.Append(evs, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		max, events int
		cur         uint64
		more        bool
	}{{0, 30, 0, false}, {1, 1, 0, true}, {10, 10, 5, true}, {10, 5, 25, false}, {5000, 0, 40, false}} {
		r := Serve(s, RequestPage("", Cursor{Seq: c.cur}, c.max))
		var p Page
		if !r.OK || json.Unmarshal(r.Result, &p) != nil || len(p.Events) != c.events || p.More != c.more || p.Head != 30 {
			t.Errorf("max %d after %d: %d events, more %v, head %d (%+v)", c.max, c.cur, len(p.Events), p.More, p.Head, r.Error)
		}
	}
	for _, arg := range []string{`{"seq":0,"max":-1}`, `{"seq":0,"max":1001}`} {
		if r := Serve(s, wire.Request{Action: Action, Args: []string{arg}}); r.OK {
			t.Errorf("%s: served", arg)
		}
	}
}
