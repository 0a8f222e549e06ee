package factscmd

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func Test_printCollect(t *testing.T) {
	now := time.Date(2026, 12, 4, 18, 40, 5, 0, time.Local)
	zero := uint64(0)
	for _, c := range []struct {
		name string
		in   wire.CollectStatus
		want []string
	}{
		{"not configured", wire.CollectStatus{}, []string{`^No collection is configured: this daemon pulls no host \(add a collect: list`}},
		{"hosts", wire.CollectStatus{Configured: true, Hosts: []wire.CollectHost{
			{Host: "web1", Interval: time.Minute, Seq: 48211, Head: 48211, Behind: &zero, Events: 48211, Facts: 91402, Rounds: 3,
				LastPull: now.Add(-4 * time.Second), LastSuccess: now.Add(-4 * time.Second)},
			{Host: "web2", Interval: time.Minute, Seq: 3120, Events: 3120, Rounds: 9, Failures: 9, Error: "unreachable: dial\tbackoff",
				LastPull: now, LastSuccess: now.Add(-48 * time.Hour)},
			{Host: "db1", Interval: time.Second, Rounds: 1, Pulling: true, LastPull: now},
			{Host: "db2", Interval: time.Second},
		}}, []string{
			`(?m)^HOST +EVERY +CURSOR +BEHIND +EVENTS +FACTS +LAST-PULL +LAST-SUCCESS +STATUS$`,
			`(?m)^web1 +1m0s +48211 +0 +48211 +91402 +18:40:01 +18:40:01 +ok$`,
			`(?m)^web2 +1m0s +3120 +- +3120 +0 +18:40:05 +2026-12-02 18:40:05 +failing \(9 in a row\): unreachable: dial backoff$`,
			`(?m)^db1 +1s +0 +- +0 +0 +18:40:05 +never +pulling$`,
			`(?m)^db2 +1s +0 +- +0 +0 +never +never +not pulled yet$`,
		}},
	} {
		var b bytes.Buffer
		printCollect(&b, c.in, now)
		for _, w := range c.want {
			if !regexp.MustCompile(w).Match(b.Bytes()) {
				t.Errorf("%s: %q does not match\n%s", c.name, w, b.String())
			}
		}
	}
}
