package collect

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/query"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

func openStore(t *testing.T) *history.Store {
	t.Helper()
	s, err := history.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pull serves one facts-pull from s after cur and decodes the page.
func pull(t *testing.T, s *history.Store, cur Cursor) *Page {
	t.Helper()
	r := Serve(s, Request("", cur))
	if !r.OK {
		t.Fatalf("facts-pull: %+v", r.Error)
	}
	if len(r.Result) > wire.MaxFrame/2 {
		t.Fatalf("page of %d bytes", len(r.Result))
	}
	var p Page
	if err := json.Unmarshal(r.Result, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestPullPagesEverythingOnceAcrossPages: a host with more events and
// facts than a page holds is pulled in bounded pages, each item once, in
// order, into a collector store whose cursor is in the same batch; a
// second round pulls nothing.
func TestPullPagesEverythingOnceAcrossPages(t *testing.T) {
	host, coll := openStore(t), openStore(t)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var evs []history.Event
	for i := range 2500 {
		evs = append(evs, history.Event{Seq: uint64(i + 1), Time: t0.Add(time.Duration(2500-i) * time.Second), Service: "web", Kind: "exit",
			Message: strings.Repeat("x", 300)})
	}
	var fs []facts.Fact
	for i := range 1500 {
		fs = append(fs, facts.Fact{Subject: "host", Name: "load.1", Num: float64(i), IsNum: true, Time: t0.Add(time.Duration(i) * time.Second)})
	}
	if err := host.Write(evs, facts.Records(fs), true); err != nil {
		t.Fatal(err)
	}
	var cur Cursor
	pages := 0
	for {
		p := pull(t, host, cur)
		pages++
		if n := len(p.Events) + len(p.Facts); n > MaxItems || n == 0 && p.More {
			t.Fatalf("page %d: %d items, more %v", pages, n, p.More)
		}
		recs, err := Records("h1", cur, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := coll.Write(nil, recs, false); err != nil {
			t.Fatal(err)
		}
		if cur, err = LoadCursor(coll, "h1"); err != nil || cur != p.Next {
			t.Fatalf("cursor %+v, %v; want %+v", cur, err, p.Next)
		}
		if !p.More {
			break
		}
		if pages > 20 {
			t.Fatal("no end")
		}
	}
	if p := pull(t, host, cur); len(p.Events)+len(p.Facts) != 0 || p.More || p.Next != cur {
		t.Fatalf("second round: %d events, %d facts", len(p.Events), len(p.Facts))
	}
	n, last := 0, uint64(0)
	coll.EachRecord(query.KindHostEvent, "h1\x00", "h1\x01", func(_ string, v []byte) error {
		var e history.Event
		json.Unmarshal(v, &e)
		if e.Seq != last+1 {
			t.Fatalf("event %d after %d", e.Seq, last)
		}
		n, last = n+1, e.Seq
		return nil
	})
	samples := 0
	facts.Reader{Store: coll}.Samples("h1", time.Time{}, func(facts.Fact) error { samples++; return nil })
	latest, _ := facts.Reader{Store: coll}.Latest("load.1")
	if n != 2500 || samples != 1500 || len(latest) != 1 || latest[0].Num != 1499 || latest[0].Host != "h1" {
		t.Fatalf("collected %d events, %d samples, latest %+v", n, samples, latest)
	}
	t.Logf("%d pages", pages)
}

// TestRecordsRefusesHostilePages: a page that goes back, repeats an
// event, holds too much or carries a bad fact is refused whole; keys are
// the configured host's whatever the page says.
func TestRecordsRefusesHostilePages(t *testing.T) {
	ev := func(seq uint64) history.Event { return history.Event{Seq: seq, Kind: "exit", Time: time.Unix(1e9, 0)} }
	cur := Cursor{Seq: 10, Fact: "\x00b"}
	good := json.RawMessage(`{"v":1,"host":"evil\u0000x","subject":"host","name":"cpu.count","value":2,"time":"2026-12-01T00:00:00Z"}`)
	many := make([]history.Event, MaxItems+1)
	for i := range many {
		many[i] = ev(uint64(11 + i))
	}
	for _, c := range []struct {
		name string
		p    Page
		want string
	}{
		{"seq back", Page{Next: Cursor{Seq: 9, Fact: "\x00b"}}, "goes back"},
		{"fact back", Page{Next: Cursor{Seq: 10, Fact: "\x00a"}}, "goes back"},
		{"bad cursor", Page{Next: Cursor{Seq: 10, Fact: "zzz"}}, "bad next cursor"},
		{"old event", Page{Events: []history.Event{ev(10)}, Next: Cursor{Seq: 10, Fact: "\x00b"}}, "out of order"},
		{"repeat", Page{Events: []history.Event{ev(11), ev(11)}, Next: Cursor{Seq: 11, Fact: "\x00b"}}, "out of order"},
		{"past next", Page{Events: []history.Event{ev(12)}, Next: Cursor{Seq: 11, Fact: "\x00b"}}, "out of order"},
		{"no kind", Page{Events: []history.Event{{Seq: 11}}, Next: Cursor{Seq: 11, Fact: "\x00b"}}, "without a kind"},
		{"too many", Page{Events: many, Next: Cursor{Seq: 2000, Fact: "\x00b"}}, "items"},
		{"bad fact", Page{Facts: []json.RawMessage{json.RawMessage(`{"v":1,"subject":"a b","name":"x","value":1}`)}, Next: cur}, "fact 0"},
		{"huge fact", Page{Facts: []json.RawMessage{json.RawMessage(`"` + strings.Repeat("a", 5000) + `"`)}, Next: cur}, "fact 0"},
	} {
		if _, err := Records("h1", cur, &c.p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	recs, err := Records("h1", cur, &Page{Facts: []json.RawMessage{good}, Next: Cursor{Seq: 10, Fact: "\x00c"}})
	if err == nil {
		for _, r := range recs {
			if !strings.HasPrefix(r.Key, "h1") {
				t.Errorf("record %s %q is not h1's", r.Kind, r.Key)
			}
		}
	} else if !strings.Contains(err.Error(), "fact 0") {
		t.Errorf("a fact naming another host: %v", err)
	}
}

// TestServeRefusesBadCursors: facts-pull takes one cursor argument.
func TestServeRefusesBadCursors(t *testing.T) {
	s := openStore(t)
	for _, args := range [][]string{nil, {"x"}, {`{"seq":1}`, "more"}, {`{"fact":"zzz"}`}, {fmt.Sprintf(`{"fact":"\u0000%s"}`, strings.Repeat("a", 3000))}} {
		if r := Serve(s, wire.Request{Action: Action, Args: args}); r.OK || r.Error.Kind != wire.BadRequest {
			t.Errorf("%q: %+v", args, r)
		}
	}
}

// TestParseCollect: the collect list of a configuration.
func TestParseCollect(t *testing.T) {
	ref := capability.Sturdyref{Peer: "12D3KooWCs4QZ2ZCtCyE7CDDL7ZyD1DHqLJSFVe2GmxuX6Lsg5ho", Addrs: []string{"/ip4/127.0.0.1/tcp/1"}}.String()
	hs, errs := monitorconfig.ParseCollect("c.yaml", []byte("collect:\n  - host: web1\n    ref: "+ref+"\n  - host: web2\n    ref: "+ref+"\n    interval: 5s\n    page-size: 50\n"))
	if len(errs) != 0 || len(hs) != 2 || hs[0].Interval != time.Minute || hs[1].Interval != 5*time.Second || hs[0].Pos.Line != 2 ||
		hs[0].PageSize != MaxItems || hs[1].PageSize != 50 {
		t.Fatalf("%+v %v", hs, errs)
	}
	for _, c := range []struct{ yaml, want string }{
		{"collect: {}", "expected a list"},
		{"collect:\n  - ref: " + ref, "needs a host"},
		{"collect:\n  - host: a b\n    ref: " + ref, "a name is"},
		{"collect:\n  - host: web1", "needs a ref"},
		{"collect:\n  - host: web1\n    ref: nope", "ref:"},
		{"collect:\n  - host: web1\n    ref: " + ref + "\n    interval: 10ms", "less than 1s"},
		{"collect:\n  - host: web1\n    ref: " + ref + "\n    port: 1", "unknown key"},
		{"collect:\n  - host: web1\n    ref: " + ref + "\n    page-size: 0", "page-size 0: expected 1 to 1000"},
		{"collect:\n  - host: web1\n    ref: " + ref + "\n    page-size: 1001", "page-size 1001"},
		{"collect:\n  - host: web1\n    ref: " + ref + "\n    page-size: many", "page-size: expected a whole number"},
		{"collect:\n  - host: web1\n    ref: " + ref + "\n  - host: web1\n    ref: " + ref, "listed twice"},
	} {
		_, errs := monitorconfig.ParseCollect("c.yaml", []byte(c.yaml))
		if len(errs) == 0 || !strings.Contains(errs.Err().Error(), c.want) || !strings.Contains(errs.Err().Error(), "c.yaml:") {
			t.Errorf("%q: %v, want %q", c.yaml, errs, c.want)
		}
	}
}

// TestExpiredDeletesOneHostsOldPulls: retention deletes a host's pulled
// events and samples older than the limit, in bounded batches, and
// nothing of another host's.
func TestExpiredDeletesOneHostsOldPulls(t *testing.T) {
	s := openStore(t)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, host := range []string{"h1", "h10"} {
		p := &Page{}
		for i := range 10 {
			p.Events = append(p.Events, history.Event{Seq: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Hour), Kind: "exit"})
			b, _ := facts.Encode(facts.Fact{Subject: "host", Name: "load.1", Num: 1, IsNum: true, Time: t0.Add(time.Duration(i) * time.Hour)})
			p.Facts = append(p.Facts, json.RawMessage(b))
		}
		p.Next.Seq = 10
		recs, err := Records(host, Cursor{}, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Write(nil, recs, false); err != nil {
			t.Fatal(err)
		}
	}
	before := t0.Add(4 * time.Hour) // events and samples 0..3 go
	dels, err := Expired(s, "h1", before, 3)
	if err != nil || len(dels) != 3 {
		t.Fatalf("%d deletions, %v", len(dels), err)
	}
	for {
		dels, err := Expired(s, "h1", before, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(dels) == 0 {
			break
		}
		for _, d := range dels {
			if !strings.HasPrefix(d.Key, "h1\x00") {
				t.Fatalf("deletes %q", d.Key)
			}
		}
		if err := s.Write(nil, dels, false); err != nil {
			t.Fatal(err)
		}
	}
	count := func(kind, host string) (n int) {
		s.EachRecord(kind, host+"\x00", host+"\x01", func(string, []byte) error { n++; return nil })
		return n
	}
	if e, f, e10, f10 := count(query.KindHostEvent, "h1"), count(facts.KindSample, "h1"), count(query.KindHostEvent, "h10"), count(facts.KindSample, "h10"); e != 6 || f != 6 || e10 != 10 || f10 != 10 {
		t.Fatalf("left: h1 %d events %d samples, h10 %d events %d samples", e, f, e10, f10)
	}
}
