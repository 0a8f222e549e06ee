package query

import (
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
	// Derived, when set, is what walking Events gives, already walked
	// (a Cache's); Events is then not called.
	Derived *Derived
}

// Derived is what a host's events give the tables.
type Derived struct {
	Interruptions []Interruption
	States        map[string]stateAt
	// LastEvent is the time of the last event.
	LastEvent time.Time
}

// Input is what a query runs over.
type Input struct {
	// Now is the time of the query: ago() counts from it.
	Now   time.Time
	Hosts []Host
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
