package sections

import (
	"reflect"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/shepherd-go/shepherd/services/jobs"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

// TestKeyIgnoresWhereASectionIsWritten: a section moved in its file (or
// to another file of the directory) is the same section, not re-applied;
// a changed value is a change.
func TestKeyIgnoresWhereASectionIsWritten(t *testing.T) {
	base := read{
		notify:   &config.Notify{File: "a.yaml", RetryMax: time.Minute, Targets: []config.NotifyTarget{{Name: "hook", URL: "http://x"}}},
		jobs:     []jobs.Expect{{Name: "nightly", Every: time.Hour}},
		monitors: []monitorconfig.Monitor{{Name: "memory", Pos: services.Pos{File: "a.yaml", Line: 3}, Interval: time.Second}},
		collect:  []monitorconfig.CollectHost{{Name: "h1", Pos: services.Pos{File: "a.yaml", Line: 9}, Ref: "ocapn://x"}},
	}
	moved := read{
		notify:   &config.Notify{File: "b.yaml", RetryMax: time.Minute, Targets: []config.NotifyTarget{{Name: "hook", URL: "http://x"}}},
		jobs:     []jobs.Expect{{Name: "nightly", Every: time.Hour}},
		monitors: []monitorconfig.Monitor{{Name: "memory", Pos: services.Pos{File: "b.yaml", Line: 30}, Interval: time.Second}},
		collect:  []monitorconfig.CollectHost{{Name: "h1", Pos: services.Pos{File: "b.yaml", Line: 1}, Ref: "ocapn://x"}},
	}
	changed := read{
		notify:   &config.Notify{File: "a.yaml", RetryMax: time.Minute, Targets: []config.NotifyTarget{{Name: "hook", URL: "http://y"}}},
		jobs:     []jobs.Expect{{Name: "nightly", Every: 2 * time.Hour}},
		monitors: []monitorconfig.Monitor{{Name: "memory", Pos: services.Pos{File: "a.yaml", Line: 3}, Interval: 2 * time.Second}},
		collect:  []monitorconfig.CollectHost{{Name: "h2", Pos: services.Pos{File: "a.yaml", Line: 9}, Ref: "ocapn://x"}},
	}
	for _, name := range order {
		if !reflect.DeepEqual(key(name, base), key(name, moved)) {
			t.Errorf("%s: moved in the file, seen as changed", name)
		}
		if reflect.DeepEqual(key(name, base), key(name, changed)) {
			t.Errorf("%s: changed, seen as the same", name)
		}
		if reflect.DeepEqual(key(name, base), key(name, read{})) {
			t.Errorf("%s: removed, seen as the same", name)
		}
		if !reflect.DeepEqual(key(name, read{}), key(name, read{})) {
			t.Errorf("%s: absent twice, seen as changed", name)
		}
	}
}
