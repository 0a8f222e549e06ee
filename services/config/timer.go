package config

import (
	"time"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/calendar"
	"github.com/shepherd-go/shepherd/services/yamlnode"
	"go.yaml.in/yaml/v3"
)

// timer reads a service's `timer:` key: a calendar (systemd OnCalendar)
// or an interval (every), with randomized-delay, persistent and overlap.
func (p parser) timer(v *yaml.Node) *services.Timer {
	if v.Kind != yaml.MappingNode {
		p.Errorf(v, "timer: expected a mapping (calendar: daily, or every: 10m), got %s", yamlnode.KindName(v))
		return nil
	}
	t := &services.Timer{Overlap: services.OverlapSkip}
	var calNode, everyNode *yaml.Node
	p.EachKey(v, func(key string, k, val *yaml.Node) {
		switch key {
		case "calendar":
			calNode = val
			if t.Calendar = p.Str("timer calendar", val); t.Calendar != "" {
				if _, err := calendar.Parse(t.Calendar, time.Local); err != nil {
					p.Errorf(val, "timer calendar: %v", err)
				}
			}
		case "every":
			everyNode = val
			if t.Every = p.Duration("timer every", val); t.Every < time.Second && val.Kind == yaml.ScalarNode {
				p.Errorf(val, "timer every: must be at least 1s, got %s", val.Value)
			}
		case "randomized-delay":
			t.RandomizedDelay = p.Duration("timer randomized-delay", val)
		case "persistent":
			t.Persistent = p.Boolean("timer persistent", val)
		case "overlap":
			switch o := services.Overlap(p.Str("timer overlap", val)); o {
			case services.OverlapSkip, services.OverlapQueue, services.OverlapKill:
				t.Overlap = o
			default:
				p.Errorf(val, "timer overlap: expected skip, queue or kill, got %q", val.Value)
			}
		default:
			p.Errorf(k, "timer: unknown key %q (expected calendar, every, randomized-delay, persistent, overlap)", key)
		}
	})
	switch {
	case calNode == nil && everyNode == nil:
		p.Errorf(v, "timer: needs calendar (e.g. daily, Mon..Fri 02:30) or every (e.g. 10m)")
	case calNode != nil && everyNode != nil:
		p.Errorf(everyNode, "timer: calendar and every cannot be used together; choose one")
	}
	return t
}

// checkTimer makes a timer service a one-shot that only its timer
// starts, and refuses what cannot be one.
func (p parser) checkTimer(s *services.Spec, timerNode, autoStartNode *yaml.Node) {
	if s.Timer == nil {
		return
	}
	if len(s.Command) == 0 || s.Remote != "" || s.Instances > 0 {
		p.Errorf(timerNode, "service %s: a timer service needs a command, and no remote nor instances", s.Name)
	}
	if autoStartNode != nil && s.AutoStart {
		p.Errorf(autoStartNode, "service %s: a timer service is started by its timer, not at the daemon's start; remove auto-start (persistent: true runs a missed run at start)", s.Name)
	}
	s.OneShot, s.AutoStart = true, false
}
