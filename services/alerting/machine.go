package alerting

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// Target is what the machine needs of a notification target: its name,
// its cooldown (after a target was told of an incident on a subject, it
// is not told of another incident on that subject for this long) and
// whether it is told when an incident closes.
type Target struct {
	Name      string
	Cooldown  time.Duration
	OnResolve bool
}

// Rule sends the classes On (all if empty) of the subjects that match
// one of Subjects (all if empty) to the targets To. A pattern (path.Match)
// matches a subject's name ("web", "db-*") or the whole subject
// ("job backup", "service *").
type Rule struct {
	On       []Class
	Subjects []string
	To       []string
}

// Policy is the notify: section as the machine needs it.
type Policy struct {
	Targets []Target
	Rules   []Rule
	// RecoverAfter: a service running again closes its incident after
	// this long without a failure. Default DefaultRecoverAfter.
	RecoverAfter time.Duration
	// FlapCount failures within FlapWindow of one service make its
	// incident flapping. Defaults 3 and 10m.
	FlapCount  int
	FlapWindow time.Duration
}

// Defaults of a Policy.
const (
	DefaultRecoverAfter = 30 * time.Second
	DefaultFlapCount    = 3
	DefaultFlapWindow   = 10 * time.Minute
	// MaxRecent closed incidents are kept (in memory and in the store).
	MaxRecent = 100
)

// Incident is a subject's trouble, from its first failure to its first
// success. ID is unique in a store: it is the sequence number of the
// event that opened it.
type Incident struct {
	ID       string    `json:"id"`
	Subject  string    `json:"subject"`
	Class    Class     `json:"class"`   // of the first failure
	Classes  []Class   `json:"classes"` // every class seen, in order
	Message  string    `json:"message"` // of the last failure
	Failures int       `json:"failures"`
	Opened   time.Time `json:"opened"`
	Last     time.Time `json:"last_failure"`
	Closed   time.Time `json:"closed,omitzero"`
	// RunningSince: a service is running again since then (settling).
	RunningSince time.Time `json:"running_since,omitzero"`
	// Notified: the targets told of it, and when.
	Notified map[string]time.Time `json:"notified,omitempty"`
	// Suppressed: the targets not told, within their cooldown.
	Suppressed []string `json:"suppressed,omitempty"`
}

// Alert is one message to one target. Key is its idempotency key: the
// same alert delivered twice has the same key.
type Alert struct {
	Key      string    `json:"key"`
	Status   string    `json:"status"` // firing, resolved or test
	Target   string    `json:"target"`
	Incident string    `json:"incident"`
	Subject  string    `json:"subject"`
	Class    Class     `json:"class"`
	Message  string    `json:"message"`
	Failures int       `json:"failures"`
	Opened   time.Time `json:"opened"`
	Resolved time.Time `json:"resolved,omitzero"`
	Time     time.Time `json:"time"`
	Host     string    `json:"host,omitempty"`
}

// Alert statuses.
const (
	Firing   = "firing"
	Resolved = "resolved"
	Test     = "test"
)

// Effect is an output of the machine.
type Effect interface{ effect() }

// Notify: store Alert in the outbox, then deliver it to its target.
type Notify struct{ Alert Alert }

// Keep: store the incident (opened, told, settling, closed).
type Keep struct{ Incident Incident }

// Forget: delete a closed incident beyond MaxRecent from the store.
type Forget struct{ ID string }

func (Notify) effect() {}
func (Keep) effect()   {}
func (Forget) effect() {}

// Machine holds the open incidents and what each target was told.
type Machine struct {
	policy Policy
	open   map[string]*Incident
	recent []Incident
	told   map[string]time.Time // target + "\x00" + subject: last told of an incident
	flaps  map[string][]time.Time
	states map[string]string // the last state of the services with an open incident
}

// New makes a machine for p, filling its defaults.
func New(p Policy) *Machine {
	if p.RecoverAfter <= 0 {
		p.RecoverAfter = DefaultRecoverAfter
	}
	if p.FlapCount <= 0 {
		p.FlapCount = DefaultFlapCount
	}
	if p.FlapWindow <= 0 {
		p.FlapWindow = DefaultFlapWindow
	}
	return &Machine{policy: p, open: map[string]*Incident{}, told: map[string]time.Time{}, flaps: map[string][]time.Time{}, states: map[string]string{}}
}

// Restore brings back incidents kept in the store: the open ones stay
// open, the closed ones are recent, and what each target was told counts
// for its cooldown. It returns the closed ones beyond MaxRecent, to be
// forgotten.
func (m *Machine) Restore(incs []Incident) []Effect {
	sort.Slice(incs, func(i, j int) bool { return incs[i].Opened.Before(incs[j].Opened) })
	for _, inc := range incs {
		for t, at := range inc.Notified {
			k := t + "\x00" + inc.Subject
			if at.After(m.told[k]) {
				m.told[k] = at
			}
		}
		if inc.Closed.IsZero() {
			c := inc
			m.open[inc.Subject] = &c
		} else {
			m.recent = append(m.recent, inc)
		}
	}
	var effs []Effect
	if n := len(m.recent); n > MaxRecent {
		for _, inc := range m.recent[:n-MaxRecent] {
			effs = append(effs, Forget{inc.ID})
		}
		m.recent = m.recent[n-MaxRecent:]
	}
	return effs
}

// Open returns the open incidents, oldest first; Recent the closed ones
// kept, oldest first.
func (m *Machine) Open() []Incident {
	out := make([]Incident, 0, len(m.open))
	for _, inc := range m.open {
		out = append(out, *inc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Opened.Before(out[j].Opened) })
	return out
}

func (m *Machine) Recent() []Incident { return slices.Clone(m.recent) }

// Step takes one observation made at now.
func (m *Machine) Step(now time.Time, o Observation) []Effect {
	if o.Subject == "" {
		return nil
	}
	if o.Class == "" {
		inc := m.open[o.Subject]
		prev := m.states[o.Subject]
		if inc != nil && o.State != "" {
			m.states[o.Subject] = o.State
		}
		switch {
		case inc == nil:
			return nil
		case !o.Settle && o.State != "":
			if o.State == "stopped" && prev == "starting" {
				return m.close(inc, now) // a one-shot that succeeded
			}
			return nil
		case o.Settle:
			if !inc.RunningSince.IsZero() {
				return nil
			}
			inc.RunningSince = now // kept: a restart must not forget it
			return []Effect{Keep{cloneInc(*inc)}}
		default:
			return m.close(inc, now)
		}
	}
	classes := []Class{o.Class}
	if o.Class == ServiceFailed || o.Class == NotReady {
		w := append(m.flaps[o.Subject], now)
		for len(w) > 0 && now.Sub(w[0]) > m.policy.FlapWindow {
			w = w[1:]
		}
		if len(w) > m.policy.FlapCount {
			w = w[len(w)-m.policy.FlapCount:]
		}
		m.flaps[o.Subject] = w
		if len(w) >= m.policy.FlapCount {
			classes = append(classes, Flapping)
		}
	}
	inc := m.open[o.Subject]
	changed := false
	if inc == nil {
		inc = &Incident{ID: fmt.Sprintf("%d", o.Seq), Subject: o.Subject, Class: o.Class, Opened: now}
		if o.Seq == 0 {
			inc.ID = fmt.Sprintf("t%d", now.UnixNano())
		}
		m.open[o.Subject] = inc
		changed = true
	}
	if o.State != "" {
		m.states[o.Subject] = o.State
	}
	inc.Failures++
	if !inc.RunningSince.IsZero() {
		changed = true // kept settling: a restart must not close it
	}
	inc.Last, inc.Message, inc.RunningSince = now, o.Message, time.Time{}
	var effs []Effect
	for _, c := range classes {
		if !slices.Contains(inc.Classes, c) {
			inc.Classes = append(inc.Classes, c)
			changed = true
		}
		for _, t := range m.targetsFor(c, o.Subject) {
			if _, done := inc.Notified[t.Name]; done || slices.Contains(inc.Suppressed, t.Name) {
				continue
			}
			changed = true
			k := t.Name + "\x00" + o.Subject
			if last, ok := m.told[k]; ok && t.Cooldown > 0 && now.Sub(last) < t.Cooldown {
				inc.Suppressed = append(inc.Suppressed, t.Name)
				continue
			}
			if inc.Notified == nil {
				inc.Notified = map[string]time.Time{}
			}
			inc.Notified[t.Name] = now
			m.told[k] = now
			a := alertOf(inc, t.Name, Firing, now)
			a.Class = c
			effs = append(effs, Notify{a})
		}
	}
	if changed {
		effs = append([]Effect{Keep{cloneInc(*inc)}}, effs...)
	}
	if o.Class.Point() {
		effs = append(effs, m.close(inc, now)...)
	}
	return effs
}

// Tick closes the incidents of services that have run long enough.
func (m *Machine) Tick(now time.Time) []Effect {
	var effs []Effect
	for _, inc := range m.Open() {
		if !inc.RunningSince.IsZero() && !now.Before(inc.RunningSince.Add(m.policy.RecoverAfter)) {
			effs = append(effs, m.close(m.open[inc.Subject], now)...)
		}
	}
	return effs
}

// NextWake is when Tick has something to do, if ever.
func (m *Machine) NextWake() (time.Time, bool) {
	var at time.Time
	for _, inc := range m.open {
		if inc.RunningSince.IsZero() {
			continue
		}
		if t := inc.RunningSince.Add(m.policy.RecoverAfter); at.IsZero() || t.Before(at) {
			at = t
		}
	}
	return at, !at.IsZero()
}

func (m *Machine) close(inc *Incident, now time.Time) []Effect {
	delete(m.open, inc.Subject)
	delete(m.flaps, inc.Subject)
	delete(m.states, inc.Subject)
	inc.Closed = now
	c := cloneInc(*inc)
	m.recent = append(m.recent, c)
	effs := []Effect{Keep{c}}
	if len(m.recent) > MaxRecent {
		effs = append(effs, Forget{m.recent[0].ID})
		m.recent = m.recent[1:]
	}
	names := make([]string, 0, len(inc.Notified))
	for t := range inc.Notified {
		names = append(names, t)
	}
	slices.Sort(names)
	for _, name := range names {
		if t, ok := m.target(name); ok && t.OnResolve && !inc.Class.Point() {
			effs = append(effs, Notify{alertOf(inc, name, Resolved, now)})
		}
	}
	return effs
}

func (m *Machine) target(name string) (Target, bool) {
	for _, t := range m.policy.Targets {
		if t.Name == name {
			return t, true
		}
	}
	return Target{}, false
}

// targetsFor returns the targets that rules send class c of subject to,
// each once, in the order the rules name them.
func (m *Machine) targetsFor(c Class, subject string) []Target {
	var out []Target
	for _, r := range m.policy.Rules {
		if len(r.On) > 0 && !slices.Contains(r.On, c) || !Matches(r.Subjects, subject) {
			continue
		}
		for _, name := range r.To {
			if t, ok := m.target(name); ok && !slices.ContainsFunc(out, func(o Target) bool { return o.Name == name }) {
				out = append(out, t)
			}
		}
	}
	return out
}

// Matches reports whether one of patterns (all if none) matches subject
// ("service web") or its name ("web").
func Matches(patterns []string, subject string) bool {
	if len(patterns) == 0 {
		return true
	}
	_, name, _ := strings.Cut(subject, " ")
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
		if ok, _ := path.Match(p, subject); ok {
			return true
		}
	}
	return false
}

// TestAlert is the alert of `herd notify test TARGET`.
func TestAlert(target string, now time.Time) Alert {
	id := fmt.Sprintf("test-%d", now.UnixNano())
	return Alert{Key: id + "/" + target + "/" + Test, Status: Test, Target: target, Incident: id, Subject: "test",
		Message: "a test notification from herd notify test", Opened: now, Time: now}
}

func alertOf(inc *Incident, target, status string, now time.Time) Alert {
	a := Alert{Key: inc.ID + "/" + target + "/" + status, Status: status, Target: target, Incident: inc.ID,
		Subject: inc.Subject, Class: inc.Class, Message: inc.Message, Failures: inc.Failures, Opened: inc.Opened, Time: now}
	if status == Resolved {
		a.Resolved = now
	}
	return a
}

func cloneInc(inc Incident) Incident {
	inc.Classes = slices.Clone(inc.Classes)
	inc.Suppressed = slices.Clone(inc.Suppressed)
	if inc.Notified != nil {
		n := make(map[string]time.Time, len(inc.Notified))
		for k, v := range inc.Notified {
			n[k] = v
		}
		inc.Notified = n
	}
	return inc
}

// Listing answers `herd incidents`: the open incidents and the recent
// closed ones, oldest first.
type Listing struct {
	Open   []Incident `json:"open"`
	Recent []Incident `json:"recent"`
	// Configured is false when the daemon has no notify: section (and
	// keeps no incidents).
	Configured bool `json:"configured"`
}

// TestResult answers `herd notify test TARGET`.
type TestResult struct {
	Target string `json:"target"`
	Key    string `json:"key"`
}
