package query

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
)

// every table whole, in an order that does not depend on the build.
var dumpQueries = []string{
	`SELECT * FROM hosts ORDER BY host`,
	`SELECT * FROM services ORDER BY host, service`,
	`SELECT * FROM events ORDER BY host, time, service, kind`,
	`SELECT * FROM facts ORDER BY host, subject, name`,
	`SELECT * FROM packages ORDER BY host, name`,
	`SELECT * FROM disks ORDER BY host, mount`,
	SeedQuery, DiskQuery, RestartQuery, MajorityQuery,
}

// sameAsFresh runs every dump query through the cache and through a
// fresh read of the store, and fails where they differ.
func sameAsFresh(t *testing.T, sd *seed, c *Cache, when string) {
	t.Helper()
	cached, err := c.Input(context.Background(), now, 0)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := FromStore(sd.s, "local", now)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range dumpQueries {
		a, err1 := Run(context.Background(), cached, q, Options{})
		b, err2 := Run(context.Background(), fresh, q, Options{})
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %s: %v, %v", when, q, err1, err2)
		}
		if fa, fb := fmt.Sprint(a.Rows), fmt.Sprint(b.Rows); fa != fb {
			t.Errorf("%s: %s\ncached: %s\nfresh:  %s", when, q, fa, fb)
		}
	}
}

// TestCacheIsTheStore: a cache kept across appended events, changed
// latest facts, a host's retention and the local history's retention
// answers every table as a fresh read of the store does, and reads only
// what is new (its walk goes on from where it stopped).
func TestCacheIsTheStore(t *testing.T) {
	sd := fleet(t)
	c := NewCache(sd.s, "local")
	// A walk whose time is up ends with an error; the next goes on.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Input(ctx, now, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Input after its time: %v", err)
	}
	sameAsFresh(t, sd, c, "first")
	before := c.hosts["h1"].events

	// More of the same: a crash on h1, one on local, a changed RAM and
	// package, a new host.
	day := 24 * time.Hour
	sd.ev("h1", crash("db", now.Add(-day))...)
	sd.ev("local", crash("web", now.Add(-day/2))...)
	sd.facts("h1", num("host", "memory.total", 8*gib), pkg("nginx", "1.24.0-2"))
	sd.ev("h9", started(now.Add(-day), "web")...)
	sd.ev("h9", crash("web", now.Add(-day/3))...)
	sd.facts("h9", num("host", "memory.total", 1*gib), pkg("nginx", "1.22.0-1"))
	sameAsFresh(t, sd, c, "after appends")
	if got := c.hosts["h1"].events; got != before+4 {
		t.Errorf("h1's walk: %d events, want %d (%d + the 4 new)", got, before+4, before)
	}

	// Retention of h1's first events (as the collector's) and of the
	// local history's oldest: both are walked again from their new
	// first event.
	var dels []history.Record
	sd.s.EachRecord(KindHostEvent, "h1\x00", "h1\x01", func(k string, _ []byte) error {
		if len(dels) < 3 {
			dels = append(dels, history.Record{Kind: KindHostEvent, Key: k})
		}
		return nil
	})
	if err := sd.s.Write(nil, dels, false); err != nil {
		t.Fatal(err)
	}
	if _, err := sd.s.DeleteBefore(now.Add(-15 * day)); err != nil {
		t.Fatal(err)
	}
	sameAsFresh(t, sd, c, "after retention")

	// A latest record removed (its host's facts forgotten) leaves the
	// cache too.
	if err := sd.s.Write(nil, []history.Record{{Kind: facts.KindLatest, Key: facts.LatestKey("h9", "package:nginx", "version")}}, false); err != nil {
		t.Fatal(err)
	}
	sameAsFresh(t, sd, c, "after a latest record went")
}

// TestTablesNamed: the tables a query names, which are the ones filled.
func TestTablesNamed(t *testing.T) {
	got := Tables("SELECT h.host FROM Hosts h JOIN packages p USING (host) -- events\nWHERE 'disks' = 'x'")
	if !got["hosts"] || !got["packages"] || got["events"] || !got["disks"] || got["facts"] {
		t.Errorf("Tables: %v", got)
	}
}
