package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestJobsKey(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte(`services: []
jobs:
  - name: backup
    expect: {every: 24h, grace: 1h}
  - {name: nightly, expect: {every: 2s}}
`), 0o644)
	cfg, err := LoadPath(good, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Jobs) != 2 || cfg.Jobs[0].Name != "backup" || cfg.Jobs[0].Every != 24*time.Hour || cfg.Jobs[0].Grace != time.Hour || cfg.Jobs[1].Every != 2*time.Second {
		t.Fatalf("jobs %+v", cfg.Jobs)
	}
	if j, err := LoadJobs(good); err != nil || len(j) != 2 {
		t.Fatalf("LoadJobs: %v %v", j, err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`jobs:
  - name: backup
    expect: {every: 24h, grace: 1h, often: yes}
  - name: backup
    expect: {every: 1h}
  - name: a/b
    expect: {every: 1h}
  - name: x
    expect: {every: 0s}
  - name: y
  - expect: {every: 1h}
  - name: z
    expect: {every: soon}
    when: now
`), 0o644)
	_, err = LoadPath(bad, nil)
	if err == nil {
		t.Fatal("bad jobs accepted")
	}
	for _, want := range []string{
		`bad.yaml:3:37: unknown key "often" in expect`,
		`bad.yaml:4:11: duplicate job "backup"`,
		`bad.yaml:6:11: bad job name "a/b"`,
		`bad.yaml:9:21: every: must be more than 0`,
		`bad.yaml:10:5: job y: expect is missing`,
		`bad.yaml:11:5: a job needs a name`,
		`bad.yaml:13:21: bad duration "soon" for every`,
		`bad.yaml:14:5: unknown key "when" in a job`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	notList := filepath.Join(dir, "notlist.yaml")
	os.WriteFile(notList, []byte("jobs: {name: x}\n"), 0o644)
	if _, err := LoadPath(notList, nil); err == nil || !strings.Contains(err.Error(), "notlist.yaml:1:7: jobs: expected a list") {
		t.Fatalf("not a list: %v", err)
	}
}
