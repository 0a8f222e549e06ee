package intent

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/lifecycle"
)

// RecordKind is the history store's record kind of intents, keyed by
// service name.
const RecordKind = "intent"

// Record is what is kept of one service: Disabled for a service or an
// instance that is disabled (its Cause none when that is not known: a
// re-exec from a daemon that did not say); Instances for a group scaled to another
// number than its file's, with Declared, the file's number when it was
// scaled (a file that says another number since wins, as a reload has
// it). A service enabled and not scaled has no record.
type Record struct {
	Service   string              `json:"service"`
	Disabled  *lifecycle.Disabled `json:"disabled,omitempty"`
	Instances int                 `json:"instances,omitempty"`
	Declared  int                 `json:"declared,omitempty"`
}

// Bounds on what a record may hold; one beyond them is refused (and
// dropped) rather than believed.
const (
	maxRecordBytes = 8 << 10
	maxNameBytes   = 4096
	maxTextBytes   = 1024
	// MaxInstances bounds a kept scale.
	MaxInstances = 1 << 20
)

// Encode returns r as stored.
func (r Record) Encode() []byte {
	b, _ := json.Marshal(r)
	return b
}

// Decode reads a stored record and checks that it is one shepherd could
// have written under key.
func Decode(key string, b []byte) (Record, error) {
	var r Record
	if len(b) > maxRecordBytes {
		return r, fmt.Errorf("intent record %q of %d bytes: more than %d", key, len(b), maxRecordBytes)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("intent record %q: %w", key, err)
	}
	d := r.Disabled
	switch {
	case r.Service != key || key == "" || len(key) > maxNameBytes || !utf8.ValidString(key):
		return r, fmt.Errorf("intent record %q: names service %q", key, r.Service)
	case d == nil && r.Instances == 0:
		return r, fmt.Errorf("intent record of %s: keeps nothing", key)
	case d != nil && (len(d.Who) > maxTextBytes || len(d.Reason) > maxTextBytes):
		return r, fmt.Errorf("intent record of %s: bad disabled", key)
	case r.Instances < 0 || r.Instances > MaxInstances || r.Declared < 0 || r.Declared > MaxInstances || (r.Instances > 0) != (r.Declared > 0):
		return r, fmt.Errorf("intent record of %s: instances %d (declared %d) out of range", key, r.Instances, r.Declared)
	}
	return r, nil
}

// ServiceRecord is the record (key and value) of a service or an
// instance whose intent the machine changed: nil value (delete) when it
// is enabled.
func ServiceRecord(name string, k lifecycle.KeepIntent) (string, []byte) {
	if k.Enabled {
		return name, nil
	}
	d := k.Disabled
	return name, Record{Service: name, Disabled: &d}.Encode()
}

// GroupRecord is the record of a group that runs running instances while
// its file says declared: nil value (delete) when they are the same.
func GroupRecord(name string, running, declared int) (string, []byte) {
	if running == declared || running <= 0 || declared <= 0 {
		return name, nil
	}
	return name, Record{Service: name, Instances: running, Declared: declared}.Encode()
}

// Plan is what a starting daemon brings back.
type Plan struct {
	// Disabled are the services and instances that start disabled.
	Disabled map[string]lifecycle.Disabled
	// Scaled are the groups that run another number of instances than
	// their file's: the number.
	Scaled map[string]int
	// Drop are the keys of the records that no longer apply: to delete.
	Drop []string
	// Logs say what was brought back, and what was not and why.
	Logs []string
}

// Decide says what to bring back of the records (by key, as stored) for
// specs, the services the configuration defines now.
func Decide(records map[string][]byte, specs []*services.Spec) Plan {
	p := Plan{Disabled: map[string]lifecycle.Disabled{}, Scaled: map[string]int{}}
	byName := map[string]*services.Spec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	recs := map[string]Record{}
	for _, key := range slices.Sorted(maps.Keys(records)) {
		r, err := Decode(key, records[key])
		if err != nil {
			p.Logs = append(p.Logs, fmt.Sprintf("%v; dropped", err))
			p.Drop = append(p.Drop, key)
			continue
		}
		recs[key] = r
	}
	drop := func(key, format string, args ...any) {
		p.Logs = append(p.Logs, fmt.Sprintf("service %s: ", key)+fmt.Sprintf(format, args...))
		p.Drop = append(p.Drop, key)
	}
	// The scales first: they say which instances are defined.
	defined := map[string]bool{}
	for _, s := range specs {
		switch {
		case s.Instances > 0:
			n := s.Instances
			if r, ok := recs[s.Name]; ok && r.Instances > 0 {
				switch {
				case r.Declared != s.Instances:
					drop(s.Name, "herd scale %d ignored: its file says %s now (it said %d when it was scaled)", r.Instances, plural(s.Instances), r.Declared)
				case r.Instances == s.Instances:
					p.Drop = append(p.Drop, s.Name)
				default:
					n = r.Instances
					p.Scaled[s.Name] = n
					p.Logs = append(p.Logs, fmt.Sprintf("service %s: runs %s, as herd scale said (its file says %d)", s.Name, plural(n), s.Instances))
				}
			}
			for i := 1; i <= n; i++ {
				defined[fmt.Sprintf("%s.%d", s.Name, i)] = true
			}
		case s.Remote == "":
			defined[s.Name] = true
		}
	}
	for _, key := range slices.Sorted(maps.Keys(recs)) {
		r, s := recs[key], byName[key]
		switch {
		case r.Instances > 0:
			switch {
			case s == nil:
				drop(key, "herd scale %d ignored: it is no longer defined", r.Instances)
			case s.Instances == 0:
				drop(key, "herd scale %d ignored: it no longer has instances", r.Instances)
			}
		case !defined[key]:
			why := "it is no longer defined"
			switch {
			case s != nil && s.Instances > 0:
				why = "it has instances now, each enabled or disabled on its own"
			case s != nil:
				why = "it is a remote service now"
			}
			drop(key, "was disabled (%s), but %s: forgotten", describe(*r.Disabled), why)
		default:
			p.Disabled[key] = *r.Disabled
			p.Logs = append(p.Logs, fmt.Sprintf("service %s: stays disabled (%s)", key, describe(*r.Disabled)))
		}
	}
	return p
}

// Apply returns specs with each scaled group's number of instances, and
// the numbers their files declare (the registry's Declared).
func (p Plan) Apply(specs []*services.Spec) ([]*services.Spec, map[string]int) {
	out := make([]*services.Spec, 0, len(specs))
	declared := map[string]int{}
	for _, s := range specs {
		if n, ok := p.Scaled[s.Name]; ok {
			declared[s.Name] = s.Instances
			c := *s
			c.Instances = n
			s = &c
		}
		out = append(out, s)
	}
	return out, declared
}

// plural says "1 instance", "2 instances".
func plural(n int) string {
	if n == 1 {
		return "1 instance"
	}
	return fmt.Sprintf("%d instances", n)
}

// describe says why and since when, for the daemon log.
func describe(d lifecycle.Disabled) string {
	s := d.Cause.String()
	if d.Cause == lifecycle.CauseNone {
		s = "why is not known" // handed over by a daemon that did not say
	}
	if d.Who != "" {
		s += " by " + d.Who
	}
	if d.Reason != "" {
		s += ": " + d.Reason
	}
	if !d.At.IsZero() {
		s += ", since " + d.At.Local().Format("2006-01-02 15:04:05")
	}
	return s
}
