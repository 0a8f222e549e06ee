package fleetruns

import (
	"fmt"
	"testing"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestChangeEvent(t *testing.T) {
	many := make([]string, 12)
	for i := range many {
		many[i] = fmt.Sprintf("web%02d", i+1)
	}
	cases := []struct {
		run  wire.FleetRun
		want string // "-": no event
	}{
		{wire.FleetRun{ID: 3, Command: []string{"uptime"}, Changed: []string{"web1"}}, "-"}, // not a watch's
		{wire.FleetRun{ID: 3, Command: []string{"uptime"}, Watch: true}, "-"},               // nothing changed
		{wire.FleetRun{ID: 3, Command: []string{"uptime"}, Watch: true, Changed: []string{"web1"}, Selector: "-g web"},
			"fleet watch round (run #3): 1 host changed: web1 (-g web)"},
		{wire.FleetRun{ID: 4, Command: []string{"uptime"}, Watch: true, Changed: many},
			"fleet watch round (run #4): 12 hosts changed: web01, web02, web03, web04, web05, web06, web07, web08, web09, web10 and 2 more"},
	}
	for _, c := range cases {
		ev, ok := ChangeEvent(c.run)
		got := "-"
		if ok {
			got = ev.Message
			if ev.Kind != "fleet-run" || ev.Result != "changed" || len(ev.Command) != 1 {
				t.Errorf("%+v: event %+v", c.run, ev)
			}
		}
		if got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.run, got, c.want)
		}
	}
}
