package alerting

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Class is what went wrong; rules select targets by class.
type Class string

// The classes of alert. Each comes from history events (Classify).
const (
	ServiceFailed    Class = "service-failed"    // a service failed to start, or exited unexpectedly
	RespawnLimit     Class = "respawn-limit"     // respawned too often: failed and disabled
	Flapping         Class = "flapping"          // FlapCount failures within FlapWindow
	NotReady         Class = "not-ready"         // not ready in time
	JobFailed        Class = "job-failed"        // a tracked job ended with an error
	JobLate          Class = "job-late"          // a tracked job did not report in time
	FleetFailed      Class = "fleet-failed"      // a fleet run with failures
	FleetChanged     Class = "fleet-changed"     // a fleet watch round in which a host's answer changed
	ProxyUnreachable Class = "proxy-unreachable" // a remote service's exporter is unreachable
	Threshold        Class = "threshold"         // a monitor's threshold is crossed (docs/monitors.md)
)

// Classes lists every class, for the configuration's checks.
var Classes = []Class{ServiceFailed, RespawnLimit, Flapping, NotReady, JobFailed, JobLate, FleetFailed, FleetChanged, ProxyUnreachable, Threshold}

// Event is the part of a history event that alerting reads (the
// notifier converts history.Event; Job is the name of a tracked job).
type Event struct {
	Seq      uint64
	Time     time.Time
	Service  string
	Command  []string // a fleet run's
	Action   string   // a monitor alert's: raise or clear
	Job      string
	Kind     string
	State    string
	ExitCode *int
	Signal   string
	Result   string
	Outcome  string // a job's: ok, failed or late (else Result says it)
	Message  string
}

// Observation is what one event says of one subject: a failure (Class
// set) or a success. A success with Settle counts once the subject has
// had no failure for Config.RecoverAfter (a service running again may
// crash again at once); one without counts at once.
type Observation struct {
	Subject string // "service web", "job backup", "fleet web", "proxy db-a"
	Class   Class  // "" for a success
	Settle  bool
	// State is a service's new state; with no Class and no Settle, the
	// observation only notes it (a one-shot's success is its going from
	// starting to stopped).
	State   string
	Message string
	Seq     uint64
}

// MaxMessage bounds the text an observation carries into an alert (it
// may come from a service's output).
const MaxMessage = 1024

// Classify says what a history event observes, if anything. The mapping
// (docs/notifications.md):
//
//	kind state, state failed, message "not ready..."  -> service NAME: not-ready
//	kind state, state failed, other message           -> service NAME: service-failed
//	kind respawn (an unexpected exit, respawned)      -> service NAME: service-failed
//	kind respawn-limit                                -> service NAME: respawn-limit
//	kind state, state running                         -> service NAME: success (settles)
//	kind state, state stopped right after starting    -> service NAME: success (a one-shot's)
//	kind proxy, state unreachable / other             -> proxy NAME: proxy-unreachable / success (settles)
//	kind job, outcome failed / late / ok              -> job NAME: job-failed / job-late / success
//	kind fleet-run, result failed / ok                -> fleet COMMAND: fleet-failed / success
//	kind fleet-run, result changed (a watch round)    -> watch COMMAND: fleet-changed (a point)
//	kind alert, action raise / clear                  -> threshold RESULT: threshold / success
//
// A one-shot service that succeeds goes from starting to stopped with
// no failure: "state stopped" after "start" is not a success of its own,
// but a later failure of it opens an incident as any other.
func Classify(e Event) (Observation, bool) {
	o := Observation{Seq: e.Seq, Message: Clean(e.Message, MaxMessage)}
	switch e.Kind {
	case "state":
		if e.Service == "" {
			return o, false
		}
		o.Subject, o.State = "service "+e.Service, e.State
		switch e.State {
		case "failed":
			o.Class = ServiceFailed
			if strings.HasPrefix(e.Message, "not ready") {
				o.Class = NotReady
			}
			if strings.HasPrefix(e.Message, "respawn limit") {
				return o, false // the respawn-limit event says it
			}
			if o.Message == "" {
				o.Message = "failed"
			}
		case "running":
			o.Settle = true
		}
	case "proxy":
		if e.Service == "" {
			return o, false
		}
		o.Subject, o.State = "proxy "+e.Service, ""
		if e.State == "unreachable" {
			o.Class = ProxyUnreachable
		} else {
			// Reachable again, whatever the remote service's state (its
			// own daemon judges that); it must hold, as a connection
			// that comes and goes is one outage.
			o.Settle = true
		}
	case "respawn":
		if e.Service == "" {
			return o, false
		}
		o.Subject, o.Class = "service "+e.Service, ServiceFailed
		if o.Message == "" {
			o.Message = "exited unexpectedly; respawned"
		}
	case "respawn-limit":
		if e.Service == "" {
			return o, false
		}
		o.Subject, o.Class = "service "+e.Service, RespawnLimit
	case "job":
		name := e.Job
		if name == "" {
			name = e.Service
		}
		if name == "" {
			return o, false
		}
		o.Subject = "job " + name
		outcome := e.Outcome
		if outcome == "" {
			outcome = e.Result
		}
		switch outcome {
		case "failed":
			o.Class = JobFailed
		case "late":
			o.Class = JobLate
		case "ok":
		default:
			return o, false
		}
	case "fleet-run":
		// One subject per command: the same command failing run after
		// run is one incident.
		name := Clean(strings.Join(e.Command, " "), 200)
		if name == "" {
			name = "run"
		}
		o.Subject = "fleet " + name
		switch e.Result {
		case "changed":
			// A change is news of its own, not a failure of the
			// command: another subject, an incident that opens and
			// closes at once (Point).
			o.Subject, o.Class = "watch "+name, FleetChanged
		case "failed":
			o.Class = FleetFailed
		case "ok":
		default:
			return o, false
		}
	case "alert":
		// A monitor's threshold (monitors/thresholds.go): the subject
		// is the threshold as written, raised and cleared once each.
		if e.Result == "" {
			return o, false
		}
		o.Subject = "threshold " + Clean(e.Result, 200)
		switch e.Action {
		case "raise":
			o.Class = Threshold
		case "clear":
		default:
			return o, false
		}
	default:
		return o, false
	}
	return o, true
}

// Point says whether an incident of class c opens and closes at once:
// it reports a change, after which nothing is to recover, so that each
// change is one alert (a target's cooldown still holds back a second one
// within it) and no resolved message follows.
func (c Class) Point() bool { return c == FleetChanged }

// Clean makes text from a service, a peer or a process safe to carry:
// valid UTF-8, no control characters but newline and tab, at most max
// bytes (cut on a character boundary, marked with "...").
func Clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) <= max {
		return s
	}
	cut := max - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
