package monitors

import (
	"slices"

	"github.com/shepherd-go/shepherd/services/monitorconfig"
)

// Inherit takes over what old knew of the monitors both run (a reload
// replaced the monitors: section): each one's counts and last run, and
// the thresholds it has raised that are still configured (the counts
// only of a monitor whose command is the same), so that a
// reload neither resets `herd monitors` nor raises again an alert that
// is already raised. Call it before Start.
func (m *Monitors) Inherit(old *Monitors) {
	if old == nil {
		return
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.mons {
		r, ok := old.runs[c.Name]
		if !ok {
			continue
		}
		kept := m.runs[c.Name]
		i := slices.IndexFunc(old.mons, func(o monitorconfig.Monitor) bool { return o.Name == c.Name })
		if i < 0 || !slices.Equal(old.mons[i].Command, c.Command) {
			continue
		}
		kept.Runs, kept.Failures, kept.Last, kept.Took, kept.Facts, kept.Error = r.Runs, r.Failures, r.Last, r.Took, r.Facts, r.Error
		kept.Problems = slices.Clone(r.Problems)
		raised := map[string]string{}
		for th, subject := range old.raised[c.Name] {
			if slices.ContainsFunc(c.Thresholds, func(t monitorconfig.Threshold) bool { return t.Text == th }) {
				raised[th] = subject
			}
		}
		m.raised[c.Name] = raised
		kept.Alerts = kept.Alerts[:0]
		for th := range raised {
			kept.Alerts = append(kept.Alerts, th)
		}
		slices.Sort(kept.Alerts)
	}
}
