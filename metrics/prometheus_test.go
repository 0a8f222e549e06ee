package metrics_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shepherd-go/shepherd/internal/freeport"
)

// lookBin finds a program of Debian's prometheus package, or skips.
func lookBin(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (apt-get install prometheus)", name)
		}
		t.Skipf("%s is not installed (apt-get install prometheus)", name)
	}
	return p
}

// runWithInput runs a short command with input on its standard input.
// The daemon's reaper must not run then (it would take the command's
// exit status): call it after the daemon's Shutdown.
func runWithInput(t testing.TB, input, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// freePort returns a loopback port free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// prometheus runs a real Prometheus on loopback that scrapes target
// every second with token; it returns its base URL.
func prometheus(t testing.TB, target, token string) string {
	t.Helper()
	bin := lookBin(t, "prometheus")
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(token), 0o600)
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: shepherd
    authorization:
      type: Bearer
      credentials_file: %s
    static_configs:
      - targets: ['%s']
`, tokenFile, target)), 0o600)
	port := freePort(t)
	var out bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port), "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait() // the daemon's reaper may have its status: no matter
		if t.Failed() {
			t.Logf("prometheus said:\n%s", out.String())
		}
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	waitFor(t, "prometheus to be ready", 30*time.Second, func() error {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	return base
}

// sample is one series of a PromQL answer.
type sample struct {
	Metric map[string]string
	Value  float64
}

// query asks Prometheus' HTTP API for an instant PromQL query.
func query(base, q string) ([]sample, error) {
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, r.Error)
	}
	var out []sample
	for _, x := range r.Data.Result {
		s, _ := x.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v", q, x.Value[1])
		}
		out = append(out, sample{x.Metric, v})
	}
	return out, nil
}

// TestPrometheusScrapesTheDaemon: a real Prometheus scrapes a real
// daemon with the daemon's capability; PromQL through Prometheus' own
// API finds shepherd_service_up for every service, and the restart
// counter of a service whose process was killed with SIGKILL moves.
func TestPrometheusScrapesTheDaemon(t *testing.T) {
	lookBin(t, "prometheus")
	s := startDaemon(t, threeServices, false)
	base := prometheus(t, strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/metrics"), s.grant(t, "shepherd", "status"))
	waitFor(t, "shepherd_service_up for every service", 60*time.Second, func() error {
		got, err := query(base, `shepherd_service_up{job="shepherd"}`)
		if err != nil {
			return err
		}
		up := map[string]float64{}
		for _, x := range got {
			up[x.Metric["service"]] = x.Value
		}
		if len(up) != 3 || up["alpha"] != 1 || up["beta"] != 1 || up["gamma"] != 0 {
			return fmt.Errorf("shepherd_service_up: %v", up)
		}
		return nil
	})
	before, err := query(base, `shepherd_service_restarts_total{service="alpha"}`)
	if err != nil || len(before) != 1 || before[0].Value != 0 {
		t.Fatalf("restarts of alpha before the kill: %v %v", before, err)
	}
	old := s.pid(t, "alpha")
	kill9(t, old)
	waitFor(t, "the restart counter to move in Prometheus", 60*time.Second, func() error {
		got, err := query(base, `increase(shepherd_service_restarts_total{service="alpha"}[1m]) > 0 and shepherd_service_restarts_total{service="alpha"} == 1`)
		if err != nil {
			return err
		}
		if len(got) != 1 {
			return fmt.Errorf("no increase yet: %v", got)
		}
		return nil
	})
	got, err := query(base, `shepherd_service_last_exit_signal{service="alpha"}`)
	if err != nil || len(got) != 1 || got[0].Value != float64(syscall.SIGKILL) {
		t.Errorf("last exit signal of alpha: %v %v", got, err)
	}
	if pid := s.pid(t, "alpha"); pid == old || pid == 0 {
		t.Errorf("alpha was not respawned: pid %d", pid)
	}
}
