package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMonitors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte(`monitors:
  - name: memory
    thresholds: ["memory.available < 5%"]
  - name: disk
    interval: 5m
    thresholds: ["disk./ > 90%"]
  - name: ram
    command: [/usr/lib/ram-plugin, --fast]
    interval: 30s
    timeout: 2s
services:
  - name: web
    command: [/bin/true]
`), 0o644)
	cfg, err := LoadPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Monitors) != 3 {
		t.Fatalf("monitors: %+v", cfg.Monitors)
	}
	m := cfg.Monitors[0]
	if m.Name != "memory" || m.Interval != time.Minute || m.Timeout != 10*time.Second || len(m.Thresholds) != 1 {
		t.Errorf("memory: %+v", m)
	}
	if th := m.Thresholds[0]; th.Name != "memory.available" || th.Op != "<" || th.Value != 5 || !th.Percent {
		t.Errorf("threshold: %+v", th)
	}
	if th := cfg.Monitors[1].Thresholds[0]; th.Name != "disk./" || th.Op != ">" || th.Value != 90 {
		t.Errorf("disk threshold: %+v", th)
	}
	if p := cfg.Monitors[2]; strings.Join(p.Command, " ") != "/usr/lib/ram-plugin --fast" || p.Timeout != 2*time.Second || p.Interval != 30*time.Second {
		t.Errorf("plugin: %+v", p)
	}
}

func TestMonitorErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"monitors: {}\n", "s.yaml:1:11: monitors: expected a list"},
		{"monitors:\n  - name: nosuch\n", "s.yaml:2:5: monitor \"nosuch\": no command, and no built-in monitor has that name"},
		{"monitors:\n  - name: memory\n    thresholds: [\"memory.available is low\"]\n", "s.yaml:3:17: monitor memory: threshold \"memory.available is low\": expected NAME OP NUMBER"},
		{"monitors:\n  - name: p\n    command: [/x]\n    interval: 10s\n    timeout: 1m\n", "s.yaml:5:14: monitor p: timeout 1m0s is longer than the interval 10s"},
		{"monitors:\n  - name: memory\n  - name: memory\n", "s.yaml:3:5: monitors: \"memory\" is listed twice"},
		{"monitors:\n  - name: memory\n    every: 1m\n", "s.yaml:3:5: monitors: unknown key \"every\""},
		{"monitors:\n  - name: memory\n    interval: 10ms\n", "interval 10ms is less than 1s"},
	} {
		path := filepath.Join(t.TempDir(), "s.yaml")
		os.WriteFile(path, []byte(tc.yaml), 0o644)
		_, err := LoadPath(path, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
