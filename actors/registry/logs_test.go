package registry

import (
	"reflect"
	"testing"

	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func TestMergeOutput(t *testing.T) {
	lines := map[string][]string{
		"web": {"2026-11-24 18:00:01 w1", "2026-11-24 18:00:03 w2", "2026-11-24 18:00:03 w3"},
		"db":  {"2026-11-24 18:00:02 d1", "2026-11-24 18:00:03 d2"},
		"cat": {"short", "2026-11-24 18:00:04 c1"},
		"nil": nil,
	}
	e := func(s, text string) wire.LogEntry { return wire.LogEntry{Service: s, Text: text} }
	all := []wire.LogEntry{
		// A line without a stamp sorts by what it has.
		e("web", "2026-11-24 18:00:01 w1"), e("db", "2026-11-24 18:00:02 d1"),
		// Lines of one second: services by name, each in its order.
		e("db", "2026-11-24 18:00:03 d2"), e("web", "2026-11-24 18:00:03 w2"), e("web", "2026-11-24 18:00:03 w3"),
		e("cat", "2026-11-24 18:00:04 c1"), e("cat", "short"),
	}
	if got := MergeOutput(lines, 100); !reflect.DeepEqual(got, all) {
		t.Errorf("MergeOutput:\n%v\nwant\n%v", got, all)
	}
	if got := MergeOutput(lines, 2); !reflect.DeepEqual(got, all[len(all)-2:]) {
		t.Errorf("the last 2: %v", got)
	}
	if got := MergeOutput(nil, 10); got == nil || len(got) != 0 {
		t.Errorf("nothing: %#v, want an empty list", got)
	}
}
