package capability

import (
	"testing"
	"time"
)

func TestJobCapabilityReportsOneJob(t *testing.T) {
	if name, ok := JobOf(JobTarget("backup")); !ok || name != "backup" {
		t.Fatalf("JobOf: %q %v", name, ok)
	}
	if _, ok := JobOf("backup"); ok {
		t.Fatal("a service is no job")
	}
	for _, c := range []struct {
		target  string
		actions []string
		ok      bool
	}{
		{"job:backup", []string{"report"}, true},
		{"job:backup", []string{"report", "start"}, false},
		{"job:backup", nil, false},
		{"web", []string{"start"}, true},
	} {
		if err := CheckJobGrant(c.target, c.actions); (err == nil) != c.ok {
			t.Errorf("%s %v: %v", c.target, c.actions, err)
		}
	}
	g := Grant{Target: JobTarget("backup"), Actions: []string{ReportAction}}
	none := func(Swiss) (Grant, bool) { return Grant{}, false }
	now := time.Now()
	if err := Check(g, none, Request{Target: JobTarget("backup"), Action: ReportAction}, now); err != nil {
		t.Fatalf("its own job: %v", err)
	}
	if err := Check(g, none, Request{Target: JobTarget("other"), Action: ReportAction}, now); err == nil {
		t.Fatal("another job's report allowed")
	}
}
