package intent

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.Local)

var (
	byUser  = lifecycle.Disabled{At: t0, Cause: lifecycle.CauseUser, Who: "uid 0"}
	byLimit = lifecycle.Disabled{At: t0, Cause: lifecycle.CauseRespawnLimit, Reason: "respawn limit hit: 5 respawns within 7s"}
)

func disabledRec(name string, d lifecycle.Disabled) []byte {
	_, v := ServiceRecord(name, lifecycle.KeepIntent{Disabled: d})
	return v
}

func scaleRec(name string, running, declared int) []byte {
	_, v := GroupRecord(name, running, declared)
	return v
}

func spec(name string, instances int) *services.Spec {
	return &services.Spec{Name: name, Command: []string{"sleep", "1"}, Instances: instances}
}

// TestDecide: records and the services defined now -> what a starting
// daemon brings back, what it drops, and what it says.
func TestDecide(t *testing.T) {
	remote := &services.Spec{Name: "far", Remote: "ocapn://x"}
	for _, tc := range []struct {
		name     string
		records  map[string][]byte
		specs    []*services.Spec
		disabled map[string]lifecycle.Disabled
		scaled   map[string]int
		drop     []string
		logs     []string
	}{
		{name: "nothing kept", specs: []*services.Spec{spec("web", 0)}},
		{
			name:     "disabled by herd disable and by the respawn limit",
			records:  map[string][]byte{"web": disabledRec("web", byUser), "crash": disabledRec("crash", byLimit)},
			specs:    []*services.Spec{spec("web", 0), spec("crash", 0), spec("other", 0)},
			disabled: map[string]lifecycle.Disabled{"web": byUser, "crash": byLimit},
			logs: []string{
				"service crash: stays disabled (respawn limit: respawn limit hit: 5 respawns within 7s, since 2026-11-24 12:00:00)",
				"service web: stays disabled (herd disable by uid 0, since 2026-11-24 12:00:00)",
			},
		},
		{
			name:     "disabled, why not known (a re-exec from an older daemon)",
			records:  map[string][]byte{"web": []byte(`{"service":"web","disabled":{}}`)},
			specs:    []*services.Spec{spec("web", 0)},
			disabled: map[string]lifecycle.Disabled{"web": {}},
			logs:     []string{"service web: stays disabled (why is not known)"},
		},
		{
			name:    "a service no longer defined is forgotten",
			records: map[string][]byte{"gone": disabledRec("gone", byUser)},
			specs:   []*services.Spec{spec("web", 0)},
			drop:    []string{"gone"},
			logs:    []string{"service gone: was disabled (herd disable by uid 0, since 2026-11-24 12:00:00), but it is no longer defined: forgotten"},
		},
		{
			name:    "a service that became a group or a remote service",
			records: map[string][]byte{"web": disabledRec("web", byUser), "far": disabledRec("far", byUser)},
			specs:   []*services.Spec{spec("web", 2), remote},
			drop:    []string{"far", "web"},
			logs: []string{
				"service far: was disabled (herd disable by uid 0, since 2026-11-24 12:00:00), but it is a remote service now: forgotten",
				"service web: was disabled (herd disable by uid 0, since 2026-11-24 12:00:00), but it has instances now, each enabled or disabled on its own: forgotten",
			},
		},
		{
			name:    "a scale holds while the file says the same",
			records: map[string][]byte{"pool": scaleRec("pool", 5, 3), "pool.5": disabledRec("pool.5", byUser)},
			specs:   []*services.Spec{spec("pool", 3)},
			scaled:  map[string]int{"pool": 5},
			// pool.5 is defined by the scale.
			disabled: map[string]lifecycle.Disabled{"pool.5": byUser},
			logs: []string{
				"service pool: runs 5 instances, as herd scale said (its file says 3)",
				"service pool.5: stays disabled (herd disable by uid 0, since 2026-11-24 12:00:00)",
			},
		},
		{
			name:    "a scale down holds too",
			records: map[string][]byte{"pool": scaleRec("pool", 1, 3)},
			specs:   []*services.Spec{spec("pool", 3)},
			scaled:  map[string]int{"pool": 1},
			logs:    []string{"service pool: runs 1 instance, as herd scale said (its file says 3)"},
		},
		{
			name:    "the file changed since the scale: the file wins",
			records: map[string][]byte{"pool": scaleRec("pool", 5, 3), "pool.5": disabledRec("pool.5", byUser)},
			specs:   []*services.Spec{spec("pool", 4)},
			drop:    []string{"pool", "pool.5"},
			logs: []string{
				"service pool: herd scale 5 ignored: its file says 4 instances now (it said 3 when it was scaled)",
				"service pool.5: was disabled (herd disable by uid 0, since 2026-11-24 12:00:00), but it is no longer defined: forgotten",
			},
		},
		{
			name:    "a scale of a group no longer defined, or no longer a group",
			records: map[string][]byte{"pool": scaleRec("pool", 5, 3), "web": scaleRec("web", 2, 1)},
			specs:   []*services.Spec{spec("web", 0)},
			drop:    []string{"pool", "web"},
			logs: []string{
				"service pool: herd scale 5 ignored: it is no longer defined",
				"service web: herd scale 2 ignored: it no longer has instances",
			},
		},
		{
			name: "records shepherd could not have written are dropped",
			records: map[string][]byte{
				"bad":      []byte("{"),
				"other":    disabledRec("web", byUser),
				"empty":    []byte(`{"service":"empty"}`),
				"cause":    []byte(`{"service":"cause","disabled":{"cause":"cosmic-ray"}}`),
				"huge":     []byte(fmt.Sprintf(`{"service":"huge","instances":%d,"declared":1}`, MaxInstances+1)),
				"undecl":   []byte(`{"service":"undecl","instances":3}`),
				"longwhy":  disabledRec("longwhy", lifecycle.Disabled{Cause: lifecycle.CauseRespawnLimit, Reason: strings.Repeat("x", 2000)}),
				"toolarge": []byte(`{"service":"toolarge","x":"` + strings.Repeat("x", 9000) + `"}`),
			},
			specs: []*services.Spec{spec("bad", 0), spec("other", 0), spec("empty", 0), spec("cause", 0), spec("huge", 2), spec("undecl", 2), spec("longwhy", 0), spec("toolarge", 0), spec("web", 0)},
			drop:  []string{"bad", "cause", "empty", "huge", "longwhy", "other", "toolarge", "undecl"},
			logs: []string{
				`intent record "bad": unexpected end of JSON input; dropped`,
				`intent record "cause": unknown cause "cosmic-ray"; dropped`,
				`intent record of empty: keeps nothing; dropped`,
				`intent record of huge: instances 1048577 (declared 1) out of range; dropped`,
				`intent record of longwhy: bad disabled; dropped`,
				`intent record "other": names service "web"; dropped`,
				`intent record "toolarge" of 9029 bytes: more than 8192; dropped`,
				`intent record of undecl: instances 3 (declared 0) out of range; dropped`,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Decide(tc.records, tc.specs)
			if tc.disabled == nil {
				tc.disabled = map[string]lifecycle.Disabled{}
			}
			if tc.scaled == nil {
				tc.scaled = map[string]int{}
			}
			if !maps.EqualFunc(p.Disabled, tc.disabled, sameDisabled) {
				t.Errorf("disabled %v, want %v", p.Disabled, tc.disabled)
			}
			if !maps.Equal(p.Scaled, tc.scaled) {
				t.Errorf("scaled %v, want %v", p.Scaled, tc.scaled)
			}
			slices.Sort(p.Drop)
			if !slices.Equal(p.Drop, tc.drop) {
				t.Errorf("drop %q, want %q", p.Drop, tc.drop)
			}
			if !slices.Equal(p.Logs, tc.logs) {
				t.Errorf("logs:\n%s\nwant:\n%s", strings.Join(p.Logs, "\n"), strings.Join(tc.logs, "\n"))
			}
		})
	}
}

// sameDisabled compares as stored: the same instant, wherever it is.
func sameDisabled(a, b lifecycle.Disabled) bool {
	ok := a.At.Equal(b.At)
	a.At, b.At = time.Time{}, time.Time{}
	return ok && a == b
}

// TestApply: a scaled group's spec carries the number it runs; the
// file's is kept beside it; the file's own spec is not changed.
func TestApply(t *testing.T) {
	pool, web := spec("pool", 3), spec("web", 0)
	out, declared := Plan{Scaled: map[string]int{"pool": 5}}.Apply([]*services.Spec{pool, web})
	if len(out) != 2 || out[0].Instances != 5 || out[1] != web || pool.Instances != 3 {
		t.Fatalf("specs %+v %+v", out[0], out[1])
	}
	if !maps.Equal(declared, map[string]int{"pool": 3}) {
		t.Fatalf("declared %v", declared)
	}
}

// TestRecords: what the writers keep, and that enabled or not scaled
// keeps nothing (a nil value deletes the record).
func TestRecords(t *testing.T) {
	if k, v := ServiceRecord("web", lifecycle.KeepIntent{Enabled: true}); k != "web" || v != nil {
		t.Errorf("enabled: %s %q", k, v)
	}
	k, v := ServiceRecord("web", lifecycle.KeepIntent{Disabled: byLimit})
	if r, err := Decode(k, v); err != nil || !sameDisabled(*r.Disabled, byLimit) {
		t.Errorf("disabled: %s %+v %v", v, r, err)
	}
	if len(v) > 200 {
		t.Errorf("record of %d bytes: %s", len(v), v)
	}
	for _, c := range [][2]int{{3, 3}, {0, 3}, {3, 0}} {
		if _, v := GroupRecord("pool", c[0], c[1]); v != nil {
			t.Errorf("group %v: %s", c, v)
		}
	}
	k, v = GroupRecord("pool", 5, 3)
	if r, err := Decode(k, v); err != nil || r.Instances != 5 || r.Declared != 3 {
		t.Errorf("scaled: %s %+v %v", v, r, err)
	}
}
