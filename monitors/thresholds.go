package monitors

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/shepherd-go/shepherd/facts"
	"github.com/shepherd-go/shepherd/history"
	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

// Measure finds what a threshold compares in a sample: "disk.MOUNT" is
// the used share (percent) or bytes of the mount; a name with % is
// NAME_pct of the host ("memory.available < 5%" reads
// memory.available_pct); else the host's fact NAME. ok is false when the
// sample does not hold it.
func Measure(th monitorconfig.Threshold, fs []facts.Fact) (value float64, subject string, ok bool) {
	subject, name := hostSubject, th.Name
	if mount, isDisk := strings.CutPrefix(th.Name, "disk."); isDisk && (strings.HasPrefix(mount, "/")) {
		subject, name = "mount:"+mount, "disk.used"
		if th.Percent {
			name = "disk.used_pct"
		}
	} else if th.Percent {
		name += "_pct"
	}
	for _, f := range fs {
		if f.IsNum && f.Name == name && (f.Subject == subject || subject == hostSubject && !strings.HasPrefix(th.Name, "disk.")) {
			return f.Num, f.Subject, true
		}
	}
	return 0, "", false
}

// Crossed says whether value crosses the threshold.
func Crossed(th monitorconfig.Threshold, v float64) bool {
	switch th.Op {
	case "<":
		return v < th.Value
	case "<=":
		return v <= th.Value
	case ">":
		return v > th.Value
	case ">=":
		return v >= th.Value
	case "==":
		return v == th.Value
	case "!=":
		return v != th.Value
	}
	return false
}

// thresholds compares a sample with the monitor's thresholds and returns
// the alert events of the ones that changed.
func (m *Monitors) thresholds(c monitorconfig.Monitor, fs []facts.Fact) []history.Event {
	if len(c.Thresholds) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	raised := m.raised[c.Name]
	if raised == nil {
		raised = map[string]string{}
		m.raised[c.Name] = raised
	}
	var evs []history.Event
	now := m.env.Now()
	for _, th := range c.Thresholds {
		v, subject, ok := Measure(th, fs)
		if !ok {
			continue
		}
		unit := ""
		if th.Percent {
			unit = "%"
		}
		shown := strconv.FormatFloat(v, 'f', -1, 64) + unit
		_, was := raised[th.Text]
		switch crossed := Crossed(th, v); {
		case crossed && !was:
			raised[th.Text] = subject
			evs = append(evs, history.Event{Time: now, Kind: KindAlert, Action: "raise", Who: "monitor " + c.Name, Result: th.Text,
				Message: fmt.Sprintf("%s %s is %s (%s %s%s)", subject, th.Name, shown, th.Op, strconv.FormatFloat(th.Value, 'f', -1, 64), unit)})
		case !crossed && was:
			delete(raised, th.Text)
			evs = append(evs, history.Event{Time: now, Kind: KindAlert, Action: "clear", Who: "monitor " + c.Name, Result: th.Text,
				Message: fmt.Sprintf("%s %s is %s again", subject, th.Name, shown)})
		}
	}
	return evs
}
