package query

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
)

// KindHostEvent is the history record kind under which a collector keeps
// the events it pulled from other hosts: key host, NUL, then the event's
// sequence on that host as 16 hex digits (HostEventKey); value the
// history.Event as JSON. One host's events are a range in their order.
const KindHostEvent = "host-event"

// HostEventKey is the store key of a pulled event.
func HostEventKey(host string, seq uint64) string { return fmt.Sprintf("%s\x00%016x", host, seq) }

// Host is what the tables hold of one host.
type Host struct {
	Name string
	// Events calls fn with the host's history events, oldest first.
	Events func(fn func(history.Event) error) error
	// Facts are the latest values of the host's facts.
	Facts []facts.Fact
}

// Input is what a query runs over.
type Input struct {
	// Now is the time of the query: ago() counts from it.
	Now   time.Time
	Hosts []Host
}

// FromStore is the input of a daemon's store: its own events and facts as
// host local, and the hosts a collector pulled from.
func FromStore(s *history.Store, local string, now time.Time) (Input, error) {
	in := Input{Now: now}
	latest, err := facts.Reader{Store: s}.Latest("")
	if err != nil {
		return in, err
	}
	byHost := map[string][]facts.Fact{}
	for _, f := range latest {
		h := f.Host
		if h == "" {
			h = local
		}
		f.Host = h
		byHost[h] = append(byHost[h], f)
	}
	in.Hosts = append(in.Hosts, Host{Name: local, Facts: byHost[local], Events: func(fn func(history.Event) error) error {
		return s.Each(history.Query{}, fn)
	}})
	seen := map[string]bool{local: true}
	var names []string
	err = s.EachRecord(KindHostEvent, "", "", func(k string, _ []byte) error {
		h, _, _ := strings.Cut(k, "\x00")
		if !seen[h] {
			seen[h] = true
			names = append(names, h)
		}
		return nil
	})
	if err != nil {
		return in, err
	}
	for h := range byHost {
		if !seen[h] {
			seen[h] = true
			names = append(names, h)
		}
	}
	for _, h := range names {
		in.Hosts = append(in.Hosts, Host{Name: h, Facts: byHost[h], Events: func(fn func(history.Event) error) error {
			return s.EachRecord(KindHostEvent, h+"\x00", h+"\x01", func(_ string, v []byte) error {
				var e history.Event
				if json.Unmarshal(v, &e) != nil {
					return nil
				}
				return fn(e)
			})
		}})
	}
	return in, nil
}

// Upstream is a package version without its epoch and distribution
// revision: "1:1.22.1-9+deb12u1" is "1.22.1".
func Upstream(v string) string {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		if _, err := strconv.Atoi(v[:i]); err == nil {
			v = v[i+1:]
		}
	}
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		v = v[:i]
	}
	return v
}
