package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/shepherd-go/shepherd/facts/collect"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/query"
)

// The commands of collect.txtar (issue 21: collection without a broker).

// seedhistory STATEDIR N: before a daemon first starts on STATEDIR, give
// its history N events (1 to N) of a service filler, kind action, message
// "seed I": a host with a long history, that a collector pulls in many
// pages.
func cmdSeedHistory(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: seedhistory STATEDIR N")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	s, err := history.Open(filepath.Join(ts.MkAbs(args[0]), "history"))
	ts.Check(err)
	defer s.Close()
	t0 := time.Now().Add(-time.Hour)
	for from := 1; from <= n; from += 1000 {
		var evs []history.Event
		for i := from; i < from+1000 && i <= n; i++ {
			evs = append(evs, history.Event{Seq: uint64(i), Time: t0.Add(time.Duration(i) * time.Millisecond), Service: "filler",
				Kind: history.KindAction, Action: "seed", Message: fmt.Sprintf("seed %d", i)})
		}
		ts.Check(s.Append(evs, false))
	}
}

// pulledexactly STATEDIR HOST N: the stopped collector's history on
// STATEDIR holds HOST's events 1 to its cursor, each once, none missing,
// as many as its cursor record counts, and the N seeded ones among them
// (seedhistory), each once. It prints what it found.
func cmdPulledExactly(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: pulledexactly STATEDIR HOST N")
	}
	host := args[1]
	n, err := strconv.Atoi(args[2])
	ts.Check(err)
	s, err := history.Open(filepath.Join(ts.MkAbs(args[0]), "history"))
	ts.Check(err)
	defer s.Close()
	st, err := collect.LoadState(s, host)
	ts.Check(err)
	var count, last uint64
	seeded := map[string]int{}
	err = s.EachRecord(query.KindHostEvent, host+"\x00", host+"\x01", func(k string, v []byte) error {
		var e history.Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("%q: %v", k, err)
		}
		if e.Seq != last+1 || k != query.HostEventKey(host, e.Seq) {
			return fmt.Errorf("event %d (key %q) after %d: a gap or a key out of place", e.Seq, k, last)
		}
		if e.Service == "filler" {
			seeded[e.Message]++
		}
		count, last = count+1, e.Seq
		return nil
	})
	ts.Check(err)
	ts.Logf("%s: %d events stored, 1 to %d; cursor record %+v", host, count, last, st)
	if count != st.Seq || count != st.Events {
		ts.Fatalf("%s: %d events stored, 1 to %d, but the cursor is %d and counts %d stored", host, count, last, st.Seq, st.Events)
	}
	for i := 1; i <= n; i++ {
		if m := fmt.Sprintf("seed %d", i); seeded[m] != 1 {
			ts.Fatalf("%s: seeded event %q stored %d times", host, m, seeded[m])
		}
	}
	if len(seeded) != n {
		ts.Fatalf("%s: %d seeded events, want %d", host, len(seeded), n)
	}
	fmt.Fprintf(ts.Stdout(), "%s: events 1 to %d, each once; %d seeded, each once\n", host, count, n)
}
