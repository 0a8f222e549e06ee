package fleetsnapshots

import (
	"encoding/json"
	"testing"

	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestBook(t *testing.T) {
	st, err := history.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := &Book{Store: st, Put: func(r history.Record) error { return st.Write(nil, []history.Record{r}, true) }}
	call := func(action string, args ...string) wire.Reply {
		return b.Serve(wire.Request{Action: action, Args: args})
	}
	for want := 1; want <= 2; want++ {
		rep := call("snapshot-new", `{"hosts":["a","b"]}`)
		var s Snapshot
		json.Unmarshal(rep.Result, &s)
		if !rep.OK || s.ID != want {
			t.Fatalf("snapshot-new: %+v, id %d, want %d", rep, s.ID, want)
		}
		for _, h := range []string{"a", "b"} {
			if rep := call("snapshot-put", "1", h, `{"host":"`+h+`"}`); !rep.OK {
				t.Fatalf("snapshot-put: %+v", rep.Error)
			}
		}
	}
	rep := call("snapshot-get", "1")
	if !rep.OK {
		t.Fatalf("snapshot-get 1: %+v", rep.Error)
	}
	var s Snapshot
	if json.Unmarshal(rep.Result, &s); s.ID != 1 || len(s.Hosts) != 2 {
		t.Fatalf("snapshot 1: %+v", s)
	}
	if rep := call("snapshot-host", "1", "b"); !rep.OK || string(rep.Result) != `{"host":"b"}` {
		t.Fatalf("snapshot-host 1 b: %s %+v", rep.Result, rep.Error)
	}
	var l List
	json.Unmarshal(call("snapshot-list").Result, &l)
	if len(l.Snapshots) != 2 {
		t.Fatalf("list: %+v", l)
	}
	for _, args := range [][]string{{"3"}, {"0"}, {"x"}, {"1", "c"}} {
		action := "snapshot-get"
		if len(args) == 2 {
			action = "snapshot-host"
		}
		if rep := call(action, args...); rep.OK {
			t.Errorf("%s %v: found", action, args)
		}
	}
	if rep := call("snapshot-put", "1", "a", "not json"); rep.OK {
		t.Error("stored malformed facts")
	}
}
